import type { StepMetrics } from './train-loop.js';

/** What a training node reports on its `metrics` port. */
export interface TrainMetrics {
  /** The id of the node that trained. */
  node: string;
  /** Optimiser steps taken. */
  steps: number;
  /** Tokens trained on (those with a loss). */
  tokens: number;
  /** Wall time of the training (s). */
  wallSeconds: number;
  /** Recorded steps (every `logEvery` and the last): total loss, lr, gradient norm, each loss term. */
  history: StepMetrics[];
}
