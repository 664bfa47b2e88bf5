import * as tf from '@tensorflow/tfjs-core';
import type { WasmHeap } from '@e3/core';

/**
 * A float32 tensor of `shape` whose values `fill` writes. On the wasm backend `fill` writes
 * straight into the tensor's wasm memory (no second copy of a large weight in JavaScript);
 * elsewhere into a Float32Array the tensor then takes (the cpu backend keeps it as is).
 * If `fill` throws, the tensor is released.
 */
export function filledTensor(shape: number[], fill: (out: Float32Array) => void): tf.Tensor {
  const backend = tf.engine().backend as unknown as Partial<WasmHeap>;
  if (tf.getBackend() === 'wasm' && backend.makeOutput && backend.typedArrayFromHeap) {
    const info = backend.makeOutput(shape, 'float32');
    const t = tf.engine().makeTensorFromTensorInfo(info);
    try {
      fill(backend.typedArrayFromHeap(info) as Float32Array);
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
