import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '@e3/core';

/** Switches to a backend for a suite (tfjs keeps one global backend). */
export async function useBackend(name: Exclude<BackendName, 'auto'>): Promise<void> {
  await initBackend(name);
}

/** max |a − b| over all elements. */
export function maxAbsDiff(a: tf.Tensor | number[] | number[][] | number[][][], b: tf.Tensor | number[] | number[][] | number[][][]): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a instanceof tf.Tensor ? a : tf.tensor(a), b instanceof tf.Tensor ? b : tf.tensor(b)))).dataSync()[0]);
}
