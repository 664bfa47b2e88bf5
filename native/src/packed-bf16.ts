import type * as tf from '@tensorflow/tfjs-core';

declare const packedBf16: unique symbol;

/**
 * A projection weight kept in bf16 (a frozen model's, plugins/src/model/bf16-weights.ts): [out, in / 2]
 * int32 elements, each holding two bf16 values (little-endian pairs). Only `markPackedBf16` makes one.
 */
export type PackedBf16<T extends tf.TensorInfo = tf.Tensor> = T & { readonly [packedBf16]: true };

/**
 * The data of the tensors marked as packed bf16. A tensor's data is shared by the variable made from it
 * and is what a kernel receives, so the mark follows the weight from the loader to the fused block
 * (decoder-block.ts), and an int32 tensor of another meaning is never read as bf16 values.
 */
const PACKED = new WeakSet<tf.DataId>();

/** Marks `t` (int32, [out, in / 2]) as holding packed bf16 values. */
export function markPackedBf16<T extends tf.TensorInfo>(t: T): PackedBf16<T> {
  if (t.dtype !== 'int32') throw new Error(`packed bf16 values are held in int32 elements, not ${t.dtype}`);
  PACKED.add(t.dataId);
  return t as PackedBf16<T>;
}

/** Whether `t` holds packed bf16 values (marked by markPackedBf16); a projection weight is otherwise float32. */
export function isPackedBf16<T extends tf.TensorInfo>(t: T): t is PackedBf16<T> {
  return PACKED.has(t.dataId);
}
