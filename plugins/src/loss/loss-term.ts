import type * as tf from '@tensorflow/tfjs-core';
import type { LossInputs, LossNeed } from './loss-inputs.js';

/**
 * A loss term component (`loss.*`): a per-token loss, averaged with the token weights.
 * The training step sums `weight × value` over its list of terms.
 */
export interface LossTerm {
  /** The term's name in the step history, report.json and the plots (unique within a node's list). */
  readonly name: string;
  /** Its weight in the step's total Σ weight × value (the `weight:` of its slot). */
  readonly weight: number;
  /** What the step must build for it; the same list as its manifest's `requires`. */
  readonly requires: readonly LossNeed[];
  /**
   * The term's value for one batch, unweighted, under the gradient tape: a scalar, usually
   * {@link weightedMean} of a per-token loss [B, T] with `inputs.tokenWeights`.
   */
  compute(inputs: LossInputs): tf.Scalar;
}

/** Σ w_t·x_t / Σ w_t over the batch. */
export function weightedMean(perToken: tf.Tensor2D, weights: tf.Tensor2D, tfl: typeof tf): tf.Scalar {
  return tfl.div(tfl.sum(tfl.mul(perToken, weights)), tfl.maximum(tfl.sum(weights), 1e-12)) as tf.Scalar;
}
