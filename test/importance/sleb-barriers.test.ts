import { strict as assert } from 'node:assert';
import { Sleb, type MaskEvaluator } from '@e3/plugins';

/** An evaluator whose NLL of a mask is Σ of cost[l] over the removed layers l (so the cheapest goes first). */
function costEvaluator(cost: number[]): MaskEvaluator & { calls: number } {
  const e = {
    numLayers: cost.length,
    calls: 0,
    async nll(mask: readonly number[]) {
      e.calls++;
      return mask.reduce((s, m, l) => s + (m ? 0 : cost[l]), 0);
    },
  };
  return e as unknown as MaskEvaluator & { calls: number };
}

describe('importance.sleb: barriers of the reference code', () => {
  it('without barriers removes the cheapest blocks; with 1 and 1 never the first or last alive one', async () => {
    const cost = [1, 2, 3, 4];
    // No barriers: round 1 removes layer 0 (cost 1), round 2 layer 1 (cost 2).
    const plain = costEvaluator(cost);
    assert.deepEqual((await new Sleb().select(plain, 2)).mask, [0, 0, 1, 1]);
    assert.equal(plain.calls, 4 + 3);
    assert.equal(new Sleb().evaluations(4, 2, 'select'), 7);
    // Barriers 1/1: round 1 chooses among alive[1..2] = layers 1, 2 → 1; round 2 among alive [0, 2, 3][1..1] = 2.
    const barred = costEvaluator(cost);
    const sleb = new Sleb({ earlyBarrier: 1, latterBarrier: 1 });
    const r = await sleb.select(barred, 2);
    assert.deepEqual(r.mask, [1, 0, 0, 1]);
    assert.deepEqual(r.scores, [4, 0, 1, 4]);
    assert.equal(barred.calls, 2 + 1);
    assert.equal(sleb.evaluations(4, 2, 'select'), 3);
    await assert.rejects(sleb.select(costEvaluator(cost), 1), /earlyBarrier \+ latterBarrier = 2/);
  });
});
