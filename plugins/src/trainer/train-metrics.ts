import type { StepMetrics } from './train-loop.js';

/** What a training node reports on its `metrics` port. */
export interface TrainMetrics {
  node: string;
  steps: number;
  tokens: number;
  wallSeconds: number;
  history: StepMetrics[];
}
