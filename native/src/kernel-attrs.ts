import type * as tf from '@tensorflow/tfjs-core';

/**
 * e3's kernel attributes as TensorFlow.js passes them. Its `NamedAttrMap` type admits only its own
 * attribute kinds (numbers, strings, tensors and arrays of them), not the plain objects e3's fused
 * kernels take (dims, names, shapes), so they cross that type here, in one place each way.
 */
export function asAttrs(attrs: object): tf.NamedAttrMap {
  return attrs as unknown as tf.NamedAttrMap;
}

/** A kernel's attributes as the object its caller passed (see {@link asAttrs}). */
export function fromAttrs<T>(attrs: object | undefined): T {
  return attrs as unknown as T;
}
