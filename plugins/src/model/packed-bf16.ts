import type * as tf from '@tensorflow/tfjs-core';

/**
 * Whether `t` holds packed bf16 values (bf16-weights.ts: two to an int32 element); a projection
 * weight is otherwise float32. A leaf module, so that weights.ts and bf16-weights.ts need not import
 * each other.
 */
export function isPackedBf16(t: tf.Tensor): boolean {
  return t.dtype === 'int32';
}
