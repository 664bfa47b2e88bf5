import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '@e3/core';
import { hostHeap, isHostBackend, WASM_HEAP_BYTES } from '@e3/native';

/**
 * Fails early, with a fix, when `bytes` more of tensors cannot fit the current backend (only
 * wasm has such a bound; past it the backend aborts the process in the middle of a load).
 */
export function checkBackendRoom(bytes: number, what: string): void {
  if (tf.getBackend() !== 'wasm') return;
  const inUse = tf.memory().numBytes;
  if (inUse + bytes < WASM_HEAP_BYTES) return;
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
  const used = inUse ? ` (with ${gib(inUse)} already in use)` : '';
  throw new UserError(
    `${what}: needs ${gib(bytes)} as float32${used}, ` +
      `more than the ${WASM_HEAP_BYTES / 2 ** 30} GiB the wasm backend can address ` +
      '(fix: --backend cpu, or backend: cpu in the graph)',
  );
}

/** The typed array each dtype `filledTensor` makes is written through. */
interface FillArrays {
  float32: Float32Array;
  int32: Int32Array;
}

/**
 * A tensor of `shape` (float32, or int32 for packed values) whose values `fill` writes. On wasm and
 * cpu `fill` writes straight into the tensor's own memory (no second copy of a large weight in
 * JavaScript); elsewhere into a typed array the tensor then takes.
 * If `fill` throws, the tensor is released.
 */
export function filledTensor<D extends keyof FillArrays = 'float32'>(
  shape: number[],
  fill: (out: FillArrays[D]) => void,
  dtype: D = 'float32' as D,
): tf.Tensor {
  if (isHostBackend(tf.getBackend())) {
    const heap = hostHeap(tf.engine().backend);
    const info = heap.makeOutput(shape, dtype);
    const t = tf.engine().makeTensorFromTensorInfo(info);
    try {
      fill(heap.typedArrayFromHeap(info) as FillArrays[D]);
    } catch (e) {
      t.dispose();
      throw e;
    }
    return t;
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const data = (dtype === 'int32' ? new Int32Array(size) : new Float32Array(size)) as FillArrays[D];
  fill(data);
  return tf.tensor(data, shape, dtype);
}
