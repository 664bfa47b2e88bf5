import { expSchedule } from '../sampler/sampler.js';

/** The search's schedules as its params set them. */
export interface SearchSchedule {
  /** The relaxation temperature τ, annealed exponentially from `from` to `to` over the steps. */
  tau: { from: number; to: number };
  /** Layers kept go linearly from all (L) down to K over the first `warmupFraction` of the steps. */
  curriculum: { enabled: boolean; warmupFraction: number };
}

/** τ_t (exponential anneal) and K_t (linear from L down to K over the warm-up fraction, then K). */
export function scheduleAt(
  s: SearchSchedule,
  step: number,
  steps: number,
  L: number,
  K: number,
): { tau: number; k: number; progress: number } {
  const progress = steps > 1 ? step / (steps - 1) : 1;
  const tau = expSchedule(s.tau.from, s.tau.to, progress);
  if (!s.curriculum.enabled || s.curriculum.warmupFraction <= 0) return { tau, k: K, progress };
  const f = Math.min(1, progress / s.curriculum.warmupFraction);
  return { tau, k: Math.round(L - (L - K) * f), progress };
}

/** z-scores (all zeros when the scores are all equal). */
export function standardise(scores: readonly number[]): number[] {
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  const sd = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
  return scores.map((s) => (sd > 1e-12 ? (s - mean) / sd : 0));
}
