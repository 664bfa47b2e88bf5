import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName, type BackendOptions } from '@e3/core';

/**
 * Switches to a backend for a suite (tfjs keeps one global backend). On cpu the native kernels
 * are off unless asked for: tests use cpu as the op-by-op reference that the native kernels
 * (on wasm, or on cpu with `{ native: true }`) are held to. Products run in f32 unless a suite asks
 * for a precision: those comparisons are f32 against f32; bf16 is held to its own bounds
 * (test/native/bf16-products.test.ts).
 */
export async function useBackend(
  name: Exclude<BackendName, 'auto'>,
  options: Partial<BackendOptions> = {},
): Promise<void> {
  await initBackend({ name, precision: 'f32', ...(name === 'cpu' ? { native: false } : {}), ...options });
}

/** max |a − b| over all elements. */
export function maxAbsDiff(
  a: tf.Tensor | number[] | number[][] | number[][][],
  b: tf.Tensor | number[] | number[][] | number[][][],
): number {
  return tf.tidy(
    () =>
      tf
        .max(tf.abs(tf.sub(a instanceof tf.Tensor ? a : tf.tensor(a), b instanceof tf.Tensor ? b : tf.tensor(b))))
        .dataSync()[0],
  );
}
