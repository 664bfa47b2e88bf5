import type { StepMetrics } from '../trainer/train-loop.js';

/** One restart's outcome (saved so a resumed run skips finished restarts). */
export interface RestartResult {
  restart: number;
  alpha: number[];
  keepProbability: number[];
  candidates: { mask: number[]; kl: number; source: string }[];
  history: StepMetrics[];
}

/** What the search reports on its `metrics` port. */
export interface SearchMetrics {
  node: string;
  restarts: RestartResult[];
  wallSeconds: number;
}
