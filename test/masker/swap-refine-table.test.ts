import { strict as assert } from 'node:assert';
import { swapRefine, type RefineLimits } from '@e3/plugins';

/*
 * The refinement on a hand-built score table: L = 5 layers, K = 3 kept, so a mask is the pair of
 * layers it removes and there are C(5, 2) = 10 of them. The calibration KL of each (not additive in
 * the layers: no per-layer cost reproduces it):
 *
 *   removed  {0,1} {0,2} {0,3} {0,4} {1,2} {1,3} {1,4} {2,3} {2,4} {3,4}
 *   KL        0.90  0.80  0.70  0.95  0.60  0.50  0.85  0.20  0.40  0.75
 *
 * The optimum removes {2,3} (KL 0.20). A swap (drop i, add j) removes kept layer i and keeps
 * removed layer j. The ranking R(drop, add) (higher first; −1 where not listed, ties in layer order)
 * is misleading: R(1,4) = 9, R(3,0) = 8, R(2,4) = 7, R(0,3) = 6, R(2,3) = 5, R(1,3) = 4, R(0,4) = 3,
 * R(3,4) = 2, R(1,0) = 1, R(2,0) = 0 — the best swap of the start, (2,0) to {2,4} at 0.40, ranks last.
 *
 * From removed {0,4} (0.95), 3 swaps a round, worked out by hand:
 *   round 1: ranked (1,4) (3,0) (2,4) (3,4) (1,0) (2,0); scores (1,4)→{0,1} 0.90, (3,0)→{3,4} 0.75,
 *            (2,4)→{0,2} 0.80; moves to {3,4} (0.75)
 *   round 2: ranked (1,4) (2,4) (0,3) (2,3) (1,3) (0,4); scores (1,4)→{1,3} 0.50, (2,4)→{2,3} 0.20,
 *            (0,3)→{0,4} 0.95; moves to {2,3} (0.20)
 *   round 3: ranked (0,3) (1,3) (0,2) (1,2) (4,2) (4,3); scores (0,3)→{0,2} 0.80, (1,3)→{1,2} 0.60,
 *            (0,2)→{0,3} 0.70; none is below 0.20: a local optimum after 2 swaps and 9 masks.
 * From removed {0,3} (0.70), 1 swap a round: the first ranked, (2,3) → {0,2}, scores 0.80, worse,
 * so the refinement stops at once and returns {0,3} at 0.70 unchanged.
 */
const L = 5;
const TABLE: Record<string, number> = {
  '0,1': 0.9,
  '0,2': 0.8,
  '0,3': 0.7,
  '0,4': 0.95,
  '1,2': 0.6,
  '1,3': 0.5,
  '1,4': 0.85,
  '2,3': 0.2,
  '2,4': 0.4,
  '3,4': 0.75,
};
const RANK: Record<string, number> = {
  '1,4': 9,
  '3,0': 8,
  '2,4': 7,
  '0,3': 6,
  '2,3': 5,
  '1,3': 4,
  '0,4': 3,
  '3,4': 2,
  '1,0': 1,
  '2,0': 0,
};
const rank: RefineLimits['rank'] = (drop, add) => RANK[`${drop},${add}`] ?? -1;

const removedOf = (mask: readonly number[]) => mask.flatMap((m, i) => (m ? [] : [i])).join(',');
const maskOf = (removed: string) => {
  const r = removed.split(',').map(Number);
  return Array.from({ length: L }, (_, i) => (r.includes(i) ? 0 : 1));
};

/** A fake evaluator that reads the table, and records the removed pair of each mask it scores. */
function tableEvaluator() {
  const scored: string[] = [];
  return {
    scored,
    async kl(mask: readonly number[]) {
      const key = removedOf(mask);
      const v = TABLE[key];
      assert.ok(v !== undefined, `mask ${mask.join('')} keeps ${mask.filter(Boolean).length} layers, not 3`);
      scored.push(key);
      return v;
    },
  };
}

const limits = (swapsPerRound: number, budget = 1000): RefineLimits => ({ rounds: 10, swapsPerRound, budget, rank });

describe('masker: swap refinement on a hand-built KL table', () => {
  it('reaches the optimum through the ranked order, as worked out by hand', async () => {
    const ev = tableEvaluator();
    const r = await swapRefine(ev, maskOf('0,4'), limits(3));
    assert.deepEqual(ev.scored, ['0,4', '0,1', '3,4', '0,2', '1,3', '2,3', '0,4', '0,2', '1,2', '0,3']);
    assert.deepEqual(r.mask, maskOf('2,3'));
    assert.equal(r.kl, 0.2);
    assert.equal(r.swaps, 2);
    assert.equal(r.scored, 9);
    assert.equal(r.stop, 'local optimum');
  });

  it('when the swaps it may score are all worse, it returns the mask it was given, unchanged', async () => {
    const ev = tableEvaluator();
    const r = await swapRefine(ev, maskOf('0,3'), limits(1));
    assert.deepEqual(ev.scored, ['0,3', '0,2']);
    assert.deepEqual(r.mask, maskOf('0,3'));
    assert.equal(r.kl, 0.7);
    assert.equal(r.swaps, 0);
    // From the optimum, every swap scored and none taken.
    const best = await swapRefine(tableEvaluator(), maskOf('2,3'), limits(6));
    assert.deepEqual([best.mask, best.kl, best.swaps, best.scored], [maskOf('2,3'), 0.2, 0, 6]);
  });

  it('never returns a higher KL than it was given: every start, swaps per round, budget and ranking', async () => {
    const rankings: [string, RefineLimits['rank']][] = [
      ['misleading', rank],
      ['reversed', (d, a) => -rank(d, a)],
      ['none', () => 0],
    ];
    let runs = 0;
    for (const start of Object.keys(TABLE))
      for (const [name, r] of rankings)
        for (let swapsPerRound = 1; swapsPerRound <= 6; swapsPerRound++)
          for (let budget = 0; budget <= 12; budget++) {
            const out = await swapRefine(tableEvaluator(), maskOf(start), {
              rounds: 10,
              swapsPerRound,
              budget,
              rank: r,
            });
            const what = `start {${start}}, ranking ${name}, ${swapsPerRound}/round, budget ${budget}`;
            assert.ok(out.kl <= TABLE[start], `${what}: KL ${out.kl} > ${TABLE[start]} given`);
            assert.equal(out.kl, TABLE[removedOf(out.mask)], `${what}: the KL returned is its mask's`);
            assert.ok(out.scored <= budget, `${what}: ${out.scored} masks scored`);
            // With every swap scored and the budget to spare, it stops at a local optimum of the table.
            if (swapsPerRound === 6 && budget === 12 && out.stop === 'local optimum') {
              const kept = out.mask.flatMap((m, i) => (m ? [i] : []));
              const removed = removedOf(out.mask).split(',').map(Number);
              for (const i of kept)
                for (const j of removed) {
                  const swapped = removed.map((x) => (x === j ? i : x)).sort((a, b) => a - b);
                  assert.ok(TABLE[swapped.join(',')] >= out.kl, `${what}: swap (${i},${j}) would improve`);
                }
            }
            runs++;
          }
    assert.equal(runs, 10 * 3 * 6 * 13);
  });
});
