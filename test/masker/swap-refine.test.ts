import { strict as assert } from 'node:assert';
import { rankedSwaps, refineBudget, swapRefine, swapsPerRound } from '@e3/plugins';

/**
 * A fake evaluator whose calibration KL is the sum of a hand-picked cost per removed layer, so
 * every step of the refinement can be worked out by hand. It records the masks it scores.
 */
function additiveEvaluator(cost: readonly number[]) {
  const scored: string[] = [];
  return {
    scored,
    async kl(mask: readonly number[]) {
      scored.push(mask.join(''));
      return mask.reduce((a, m, i) => a + (m ? 0 : cost[i]), 0);
    },
  };
}

const COST = [5, 1, 4, 2, 6, 3];
// Removes 0, 2, 4: KL 5 + 4 + 6 = 15. The optimum removes 1, 3, 5: KL 1 + 2 + 3 = 6.
const START = [0, 1, 0, 1, 0, 1];
const OPTIMUM = [1, 0, 1, 0, 1, 0];

describe('masker: swap refinement', () => {
  it('reaches the optimum of an additive KL by hand-computed best swaps (15 → 10 → 7 → 6)', async () => {
    const ev = additiveEvaluator(COST);
    const r = await swapRefine(ev, START, { rounds: 10, swapsPerRound: 100, budget: 1000, rank: () => 0 });
    assert.deepEqual(r.mask, OPTIMUM);
    assert.equal(r.kl, 6);
    assert.equal(r.swaps, 3);
    // 9 swaps a round (K·(L−K) = 3·3), four rounds: three that improve, one that finds none.
    assert.equal(r.scored, 36);
    assert.equal(r.stop, 'local optimum');
  });

  it('with an exact first-order ranking, one swap a round is enough', async () => {
    const ev = additiveEvaluator(COST);
    // α = cost: the gain of dropping i and adding j is cost[j] − cost[i] = α_j − α_i exactly.
    const r = await swapRefine(ev, START, {
      rounds: 10,
      swapsPerRound: 1,
      budget: 1000,
      rank: (drop, add) => COST[add] - COST[drop],
    });
    assert.deepEqual(r.mask, OPTIMUM);
    assert.equal(r.kl, 6);
    // The start mask, then: drop 1 add 4 (KL 10), drop 3 add 0 (7), drop 5 add 2 (6), then the best
    // remaining swap (drop 2 add 5: 7) does not improve.
    assert.deepEqual(ev.scored, ['010101', '000111', '100011', '101010', '100011']);
    assert.equal(r.scored, 4);
  });

  it('stops at its budget and never returns a mask worse than it was given', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      // A non-additive KL: pairwise terms from a small LCG, so swaps interact.
      let s = seed;
      const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
      const pair = Array.from({ length: 8 }, () => Array.from({ length: 8 }, rand));
      const ev = {
        async kl(mask: readonly number[]) {
          let v = 0;
          for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) if (!mask[i] && !mask[j]) v += pair[i][j];
          return v;
        },
      };
      const start = [1, 1, 0, 1, 0, 1, 0, 0];
      const startKl = await ev.kl(start);
      const budget = 1 + (seed % 7);
      const r = await swapRefine(ev, start, { rounds: 10, swapsPerRound: 16, budget, rank: () => 0 });
      assert.ok(r.kl <= startKl, `seed ${seed}: ${r.kl} > ${startKl}`);
      assert.equal(r.kl, await ev.kl(r.mask));
      assert.ok(r.scored <= budget);
      assert.equal(
        r.mask.reduce((a, m) => a + m, 0),
        4,
      );
    }
  });

  it('ranks swaps by the estimate, ties in layer order', () => {
    assert.deepEqual(
      rankedSwaps([1, 0, 1, 0], (drop, add) => (drop === 2 && add === 1 ? 1 : 0)),
      [
        [2, 1],
        [0, 1],
        [0, 3],
        [2, 3],
      ],
    );
  });

  it('budgets the refinement as the cost of the gradient steps over the cost of a mask', () => {
    // 2 restarts × 20 steps × 32 examples × 2 (forward + input gradients) = 2560 example-forwards;
    // a mask: 32 calibration examples through 21 of 28 layers = 24. 2560 / 24 = 106.7.
    assert.equal(refineBudget({ refineBudget: 1, restarts: 2, steps: 20, searchBatchSize: 32 }, 32, 28, 21), 106);
    assert.equal(refineBudget({ refineBudget: 0, restarts: 2, steps: 20, searchBatchSize: 32 }, 32, 28, 21), 0);
  });

  it('auto shares the budget over the rounds, at least 16 swaps a round', () => {
    assert.equal(swapsPerRound('auto', 800, 10), 80); // every swap of a 16-layer round (48)
    assert.equal(swapsPerRound('auto', 48, 10), 16);
    assert.equal(swapsPerRound(5, 800, 10), 5);
  });
});
