import type * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';

/**
 * bf16 copies of the f32 tensors that bf16 products read more than once (weights), kept beside
 * their f32 values for the tensor's life, by the tensor's data id: a projection weight is rounded
 * to bf16 once, not at every product that reads it. Tensors are immutable, so a copy stays right
 * until its data changes in place, which two things do: the fused AdamW (it writes the new copy in
 * the same pass, adamw.ts) and gradient sums into a marked accumulator (which drop the copy,
 * `forgetBf16Copy`). A frozen model kept in bf16 (plugins/src/model/bf16-weights.ts) needs none.
 */
const copies = new WeakMap<tf.DataId, Uint16Array>();
/** How many bf16 products have read each f32 operand without a copy (the second read makes one). */
const reads = new WeakMap<tf.DataId, number>();

/** The bf16 copy of f32 tensor `id` (values `f32`), made now if there is none. */
export function bf16CopyOf(addon: NativeAddon, id: tf.DataId, f32: Float32Array): Uint16Array {
  const have = copies.get(id);
  if (have && have.length === f32.length) return have;
  const copy = new Uint16Array(f32.length);
  addon.toBf16(f32, copy);
  copies.set(id, copy);
  return copy;
}

/**
 * For an operand of a bf16 product that may or may not be a weight: its copy if it has one, a new
 * copy from its second read on (a weight is read again; most activations are not), else undefined
 * (the product rounds it in passing).
 */
export function bf16CopyIfReread(addon: NativeAddon, id: tf.DataId, f32: Float32Array): Uint16Array | undefined {
  const have = copies.get(id);
  if (have && have.length === f32.length) return have;
  const n = (reads.get(id) ?? 0) + 1;
  reads.set(id, n);
  return n >= 2 ? bf16CopyOf(addon, id, f32) : undefined;
}

/**
 * The copy AdamW writes for its output `to` when input `from` had one: the same array when the
 * update runs in place, a new one for a new output; undefined when `from` had none.
 */
export function bf16CopyForUpdate(from: tf.DataId, to: tf.DataId, length: number): Uint16Array | undefined {
  const have = copies.get(from);
  if (!have || have.length !== length) return undefined;
  if (from === to) return have;
  const copy = new Uint16Array(length);
  copies.set(to, copy);
  return copy;
}

/** Drops the copy of a tensor whose values change in place (its next bf16 product rounds them anew). */
export function forgetBf16Copy(id: tf.DataId): void {
  copies.delete(id);
  reads.delete(id);
}
