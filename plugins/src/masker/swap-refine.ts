import type { MaskEvaluator } from '../importance/mask-evaluator.js';

/**
 * Local refinement of a mask (ours): try every swap of one kept layer with one removed
 * layer, scored by calibration KL, and move to the best improving swap; repeat up to
 * `rounds` times. K·(L−K) evaluations a round — cheap next to the search itself — and it
 * turns a near miss of the search into the neighbouring optimum.
 */
export async function swapRefine(
  evaluator: MaskEvaluator,
  mask: number[],
  rounds: number,
): Promise<{ mask: number[]; kl: number; swaps: number }> {
  let best = mask.slice();
  let bestKl = await evaluator.kl(best);
  let swaps = 0;
  for (let r = 0; r < rounds; r++) {
    let improved: number[] | undefined;
    for (let i = 0; i < best.length; i++) {
      if (!best[i]) continue;
      for (let j = 0; j < best.length; j++) {
        if (best[j]) continue;
        const trial = best.slice();
        trial[i] = 0;
        trial[j] = 1;
        const kl = await evaluator.kl(trial);
        if (kl < bestKl - 1e-9) {
          bestKl = kl;
          improved = trial;
        }
      }
    }
    if (!improved) break;
    best = improved;
    swaps++;
  }
  return { mask: best, kl: bestKl, swaps };
}
