import type * as tf from '@tensorflow/tfjs-core';
import type { LossInputs, LossNeed } from './loss-inputs.js';

/**
 * A loss term component (`loss.*`): a per-token loss, averaged with the token weights.
 * The training step sums `weight × value` over its list of terms.
 */
export interface LossTerm {
  readonly name: string;
  readonly weight: number;
  /** What the step must build for it; the same list as its manifest's `requires`. */
  readonly requires: readonly LossNeed[];
  compute(inputs: LossInputs): tf.Scalar;
}

/** Σ w_t·x_t / Σ w_t over the batch. */
export function weightedMean(perToken: tf.Tensor2D, weights: tf.Tensor2D, tfl: typeof tf): tf.Scalar {
  return tfl.div(tfl.sum(tfl.mul(perToken, weights)), tfl.maximum(tfl.sum(weights), 1e-12)) as tf.Scalar;
}
