import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '@e3/core';
import type { LossInputs } from './loss-inputs.js';

const EPS = 1e-8;

/**
 * The k+1-bucket distributions (METHOD.md, ours): the teacher's top-k probabilities plus a
 * "rest" bucket 1 − Σ top-k, and the student's probabilities on the same ids plus its own
 * rest bucket. KL on these is exact for that coarsening. Returns log-probabilities
 * [B, T, k+1] for teacher (p) and student (q); the rest bucket is last.
 */
export function bucketLogProbs(x: LossInputs): { logP: tf.Tensor3D; logQ: tf.Tensor3D } {
  if (!x.targets) throw new UserError('this loss term needs teacher targets (wire a teacher.topkCache into the node)');
  const { logProbs } = x.targets;
  const logQk = x.student.logQTop;
  if (!logQk) throw new Error("bucket terms need the student's log-probabilities at the teacher ids (topIds)");
  const rest = (lp: tf.Tensor3D) => tf.log(tf.maximum(tf.sub(1, tf.sum(tf.exp(lp), -1, true)), EPS));
  return {
    logP: tf.concat([logProbs, rest(logProbs)], -1) as tf.Tensor3D,
    logQ: tf.concat([logQk, rest(logQk)], -1) as tf.Tensor3D,
  };
}

/** KL(p‖q) per token over the last axis (buckets or the full vocabulary): Σ p (log p − log q). */
export function klPerToken(logP: tf.Tensor3D, logQ: tf.Tensor3D): tf.Tensor2D {
  return tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), -1) as tf.Tensor2D;
}
