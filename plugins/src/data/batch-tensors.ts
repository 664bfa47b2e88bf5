import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from './batch.js';

/** Tensors of a batch: ids, labels, attention, and `active` (1 where a label applies). */
export function batchTensors(b: Batch): {
  ids: tf.Tensor2D;
  labels: tf.Tensor2D;
  attention: tf.Tensor2D;
  active: tf.Tensor2D;
} {
  const active = b.labels.map((row) => row.map((l) => (l >= 0 ? 1 : 0)));
  return {
    ids: tf.tensor2d(b.ids, undefined, 'int32'),
    labels: tf.tensor2d(b.labels, undefined, 'int32'),
    attention: tf.tensor2d(b.attention, undefined, 'float32'),
    active: tf.tensor2d(active, undefined, 'float32'),
  };
}
