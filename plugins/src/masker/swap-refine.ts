import type { MaskEvaluator } from '../importance/mask-evaluator.js';

/** How far the swap refinement may go. */
export interface RefineLimits {
  /** At most this many rounds (one accepted swap each). */
  readonly rounds: number;
  /** Swaps scored per round: the best ranked ones by `rank`. */
  readonly swapsPerRound: number;
  /** Masks scored in all rounds together (the forward budget, in calibration passes). */
  readonly budget: number;
  /**
   * First-order estimate of how much better the mask gets when kept layer `drop` is removed
   * and removed layer `add` is kept (higher is tried first), e.g. α_add − α_drop.
   */
  readonly rank: (drop: number, add: number) => number;
}

/** What the refinement did. */
export interface RefineResult {
  readonly mask: number[];
  readonly kl: number;
  /** Swaps accepted. */
  readonly swaps: number;
  /** Masks scored (the start mask included when it was not memoised). */
  readonly scored: number;
  /** Why it stopped. */
  readonly stop: 'local optimum' | 'rounds' | 'budget';
}

/**
 * Local refinement of a mask (ours): each round scores the `swapsPerRound` best ranked swaps of
 * one kept layer with one removed layer by calibration KL, and moves to the best improving one;
 * it stops at a local optimum among the swaps scored, after `rounds`, or when `budget` masks
 * have been scored. A full round is K·(L−K) forwards (147 at 28 layers, 768 at 64), so the ranking
 * and the budget are what keep its cost beside the search's own; at 8 layers every swap fits in a
 * round. The returned KL is never above the start mask's.
 */
export async function swapRefine(
  evaluator: Pick<MaskEvaluator, 'kl'>,
  mask: readonly number[],
  limits: RefineLimits,
): Promise<RefineResult> {
  let best = mask.slice();
  let bestKl = await evaluator.kl(best);
  let swaps = 0;
  let scored = 0;
  for (let r = 0; r < limits.rounds; r++) {
    const trials = rankedSwaps(best, limits.rank).slice(0, limits.swapsPerRound);
    let improved: number[] | undefined;
    for (const [drop, add] of trials) {
      if (scored >= limits.budget) break;
      const trial = best.slice();
      trial[drop] = 0;
      trial[add] = 1;
      const kl = await evaluator.kl(trial);
      scored++;
      if (kl < bestKl - 1e-9) {
        bestKl = kl;
        improved = trial;
      }
    }
    if (improved) {
      best = improved;
      swaps++;
    }
    if (scored >= limits.budget) return { mask: best, kl: bestKl, swaps, scored, stop: 'budget' };
    if (!improved) return { mask: best, kl: bestKl, swaps, scored, stop: 'local optimum' };
  }
  return { mask: best, kl: bestKl, swaps, scored, stop: 'rounds' };
}

/** Every (kept, removed) pair of `mask`, best first by `rank`; ties keep the layer order. */
export function rankedSwaps(mask: readonly number[], rank: RefineLimits['rank']): [number, number][] {
  const pairs: { drop: number; add: number; score: number; order: number }[] = [];
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    for (let j = 0; j < mask.length; j++)
      if (!mask[j]) pairs.push({ drop: i, add: j, score: rank(i, j), order: pairs.length });
  }
  pairs.sort((a, b) => b.score - a.score || a.order - b.order);
  return pairs.map((p) => [p.drop, p.add]);
}

/** Cost of one gradient step of the search, in calibration-example forwards through all layers. */
const STEP_FORWARDS = 2; // the forward, and the backward's input gradients (the model is frozen)

/**
 * Masks the refinement may score: `refineBudget` × the cost of the search's gradient steps
 * (restarts × steps × searchBatchSize examples, forward and backward), over the cost of scoring
 * one mask (the calibration examples through K of the L layers).
 */
export function refineBudget(
  p: { refineBudget: number; restarts: number; steps: number; searchBatchSize: number },
  calibration: number,
  L: number,
  K: number,
): number {
  const stepCost = p.restarts * p.steps * p.searchBatchSize * STEP_FORWARDS;
  const maskCost = (Math.max(calibration, 1) * K) / L;
  return Math.floor((p.refineBudget * stepCost) / maskCost);
}

/**
 * Swaps a refinement round scores: `refineSwaps` as set, or for `auto` the budget shared over the
 * rounds, at least 16 — so every swap of a round is scored while the budget allows it (16 and 48 a
 * round at 8 and 16 layers), and the best ranked ones when it does not (147 a round at 28 layers).
 */
export function swapsPerRound(refineSwaps: number | 'auto', budget: number, rounds: number): number {
  return refineSwaps === 'auto' ? Math.max(16, Math.floor(budget / Math.max(rounds, 1))) : refineSwaps;
}
