import * as tf from '@tensorflow/tfjs-core';

/** What the executor of a kernel receives from tfjs (only the fields we use). */
interface KernelArgs {
  inputs: Record<string, tf.TensorInfo>;
  backend: unknown;
  attrs?: Record<string, unknown>;
}

interface WasmLike {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.backend_util.TypedArray;
}

/**
 * `UnsortedSegmentSum` for the wasm backend, which does not ship it; it is the gradient of
 * `gather` (embedding lookups), so training on wasm needs it. Computed in JS over the wasm
 * heap: out[segmentIds[i], …] += x[i, …]; ids outside [0, numSegments) are dropped, as in TF.
 */
function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const wasm = backend as WasmLike;
  const { x, segmentIds } = inputs;
  const numSegments = Number(attrs?.numSegments);
  const inner = x.shape.slice(segmentIds.shape.length).reduce((a, b) => a * b, 1);
  const xs = wasm.readSync(x.dataId) as Float32Array | Int32Array;
  const ids = wasm.readSync(segmentIds.dataId) as Int32Array;
  const out = wasm.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
  const o = wasm.typedArrayFromHeap(out);
  o.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += xs[src + j];
  }
  return out;
}

/** Registers the training kernels the wasm backend lacks. Safe to call more than once. */
export function registerMissingWasmKernels(): string[] {
  const added: string[] = [];
  const missing: [string, (a: KernelArgs) => tf.TensorInfo][] = [['UnsortedSegmentSum', unsortedSegmentSum]];
  for (const [kernelName, fn] of missing) {
    if (tf.getKernel(kernelName, 'wasm')) continue;
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: fn as unknown as tf.KernelFunc });
    added.push(kernelName);
  }
  return added;
}
