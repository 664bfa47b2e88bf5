import type * as tf from '@tensorflow/tfjs-core';

/** Teacher targets aligned with a batch: per position, top-k ids and log-probs, and entropy. */
export interface TeacherTargets {
  /** [B, T, k] int32 */
  readonly ids: tf.Tensor3D;
  /** [B, T, k] teacher log-probabilities of those ids */
  readonly logProbs: tf.Tensor3D;
  /** [B, T] full-vocabulary entropy of the teacher (nats) */
  readonly entropy: tf.Tensor2D;
}

/**
 * What a loss term sees of the student's output distribution q: per-token statistics rather
 * than logits [B, T, V], which a large vocabulary cannot hold at once (model/chunked-head.ts
 * computes them chunk by chunk; `tokensFromLogits` from whole logits).
 */
export interface StudentTokens {
  /** [B, T, k] log q at the teacher's top-k ids (when the batch has teacher targets). */
  readonly logQTop?: tf.Tensor3D;
  /** [B, T] log q of the next-token label (id 0 where the label is −1). */
  readonly logQLabel: tf.Tensor2D;
  /** [B, T] (1/V)·Σ_v log q_v (the uniform part of label smoothing). */
  readonly meanLogQ: tf.Tensor2D;
}

/** Everything a loss term may look at for one batch. */
export interface LossInputs {
  /** The student's per-token statistics. */
  readonly student: StudentTokens;
  /** Next-token ids [B, T] (int32, −1 where no loss applies). */
  readonly labels: tf.Tensor2D;
  /** [B, T] 1 where a loss applies, else 0. */
  readonly active: tf.Tensor2D;
  /** [B, T] per-token weights (already zero where inactive); the term divides by their sum. */
  readonly tokenWeights: tf.Tensor2D;
  readonly targets?: TeacherTargets;
  readonly vocabSize: number;
  /** Student hidden states (when the term asked for them). */
  readonly hidden?: tf.Tensor3D[];
  readonly teacherHidden?: tf.Tensor3D[];
}

/**
 * A loss term component (`loss.*`): a per-token loss, averaged with the token weights.
 * The trainer sums `weight × value` over its list of terms.
 */
export interface LossTerm {
  readonly name: string;
  readonly weight: number;
  /** Needs teacher targets (the trainer fails early with a clear error if none are wired). */
  readonly needsTeacher: boolean;
  compute(inputs: LossInputs): tf.Scalar;
}

/** Σ w_t·x_t / Σ w_t over the batch. */
export function weightedMean(perToken: tf.Tensor2D, weights: tf.Tensor2D, tfl: typeof tf): tf.Scalar {
  return tfl.div(tfl.sum(tfl.mul(perToken, weights)), tfl.maximum(tfl.sum(weights), 1e-12)) as tf.Scalar;
}
