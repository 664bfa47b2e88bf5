import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '@e3/core';
import { hostHeap, isHostBackend } from '@e3/native';

/** The wasm backend's memory cannot grow past 4 GiB (32-bit addresses). */
const WASM_MAX_BYTES = 2 ** 32;

/**
 * Fails early, with a fix, when `bytes` more of tensors cannot fit the current backend (only
 * wasm has such a bound; past it the backend aborts the process in the middle of a load).
 */
export function checkBackendRoom(bytes: number, what: string): void {
  if (tf.getBackend() !== 'wasm') return;
  const inUse = tf.memory().numBytes;
  if (inUse + bytes < WASM_MAX_BYTES) return;
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
  const used = inUse ? ` (with ${gib(inUse)} already in use)` : '';
  throw new UserError(
    `${what}: needs ${gib(bytes)} as float32${used}, ` +
      'more than the 4 GiB the wasm backend can address (fix: --backend cpu, or backend: cpu in the graph)',
  );
}

/**
 * A float32 tensor of `shape` whose values `fill` writes. On wasm and cpu `fill` writes straight
 * into the tensor's own memory (no second copy of a large weight in JavaScript); elsewhere into
 * a Float32Array the tensor then takes.
 * If `fill` throws, the tensor is released.
 */
export function filledTensor(shape: number[], fill: (out: Float32Array) => void): tf.Tensor {
  if (isHostBackend(tf.getBackend())) {
    const heap = hostHeap(tf.engine().backend);
    const info = heap.makeOutput(shape, 'float32');
    const t = tf.engine().makeTensorFromTensorInfo(info);
    try {
      fill(heap.typedArrayFromHeap(info) as Float32Array);
    } catch (e) {
      t.dispose();
      throw e;
    }
    return t;
  }
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  fill(data);
  return tf.tensor(data, shape, 'float32');
}
