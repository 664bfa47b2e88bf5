import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas, type KernelArgs, type WasmHeap } from './native-kernels.js';
import { replaceWasmKernel } from './replace-wasm-kernel.js';

/**
 * `UnsortedSegmentSum` for the wasm backend, which does not ship it; it is the gradient of
 * `gather` (embedding lookups), so training on wasm needs it. Computed in JS over the wasm
 * heap: out[segmentIds[i], …] += x[i, …]; ids outside [0, numSegments) are dropped, as in TF.
 */
function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const wasm = backend as WasmHeap;
  const { x, segmentIds } = inputs;
  const numSegments = Number(attrs?.numSegments);
  const inner = x.shape.slice(segmentIds.shape.length).reduce((a, b) => a * b, 1);
  const out = wasm.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
  // Views of the heap (not readSync copies), taken after makeOutput, which may grow the heap.
  const xs = wasm.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const ids = wasm.typedArrayFromHeap(segmentIds) as Int32Array;
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

/**
 * `E3AdamW`: one AdamW update of one parameter in a single pass over the wasm heap
 * (m' = β1·m + (1−β1)·g; v' = β2·v + (1−β2)·g²; w' = w·(1 − lr·decay) − lr·(m'/bc1)/(√(v'/bc2) + ε)),
 * instead of ~13 tensor ops each dispatched through the engine. Outputs [w', m', v'].
 */
function adamwUpdate({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const wasm = backend as WasmHeap;
  const { w, g, m, v } = inputs;
  const a = attrs as { lr: number; beta1: number; beta2: number; eps: number; decay: number; bc1: number; bc2: number };
  const outs = [wasm.makeOutput(w.shape, 'float32'), wasm.makeOutput(w.shape, 'float32'), wasm.makeOutput(w.shape, 'float32')];
  // Views after every allocation: makeOutput may grow (and so replace) the heap.
  const [wv, gv, mv, vv] = [w, g, m, v].map((t) => wasm.typedArrayFromHeap(t) as Float32Array);
  const [wo, mo, vo] = outs.map((t) => wasm.typedArrayFromHeap(t) as Float32Array);
  if (native?.adamw) {
    native.adamw(wv, gv, mv, vv, wo, mo, vo, a.lr, a.beta1, a.beta2, a.eps, a.decay, a.bc1, a.bc2);
    return outs;
  }
  const keep = 1 - a.lr * a.decay;
  for (let i = 0; i < wv.length; i++) {
    const gi = gv[i];
    const mi = a.beta1 * mv[i] + (1 - a.beta1) * gi;
    const vi = a.beta2 * vv[i] + (1 - a.beta2) * gi * gi;
    mo[i] = mi; vo[i] = vi;
    wo[i] = wv[i] * keep - a.lr * (mi / a.bc1) / (Math.sqrt(vi / a.bc2) + a.eps);
  }
  return outs;
}

/**
 * `Identity` that shares the input's memory (reference count + 1) instead of copying it, as the
 * cpu backend's does and as the wasm backend's own `Reshape` already does — tensors are
 * immutable, so a copy buys nothing. The engine clones every tensor it saves for a gradient, so
 * the copying version moved each weight and every saved activation once per training step.
 */
function sharedIdentity({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const { x } = inputs;
  (backend as { incRef(id: tf.DataId): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/**
 * `GatherV2` along axis 0 (embedding lookups) as row copies between heap views; the wasm
 * backend's own kernel took 4.9 ms for 512 rows of 256 floats (a plain copy is ~30 µs). Other
 * axes and batch dimensions go to the original kernel.
 */
function gatherRows(fallback: tf.KernelFunc) {
  return (args: KernelArgs): tf.TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { x, indices } = inputs;
    const rank = x.shape.length;
    const axis = Number(attrs?.axis ?? 0) < 0 ? Number(attrs?.axis) + rank : Number(attrs?.axis ?? 0);
    if (axis !== 0 || Number(attrs?.batchDims ?? 0) !== 0 || rank < 1 || x.dtype !== 'float32' || indices.dtype !== 'int32') return fallback(args as never) as tf.TensorInfo;
    const wasm = backend as WasmHeap;
    const rows = x.shape[0];
    const inner = x.shape.slice(1).reduce((a, b) => a * b, 1);
    const out = wasm.makeOutput([...indices.shape, ...x.shape.slice(1)], 'float32');
    const src = wasm.typedArrayFromHeap(x) as Float32Array;
    const ids = wasm.typedArrayFromHeap(indices) as Int32Array;
    const dst = wasm.typedArrayFromHeap(out) as Float32Array;
    for (let i = 0; i < ids.length; i++) {
      const r = ids[i];
      if (r < 0 || r >= rows) throw new Error(`GatherV2: index ${r} is not in [0, ${rows - 1}]`);
      if (inner === 1) dst[i] = src[r];
      else dst.set(src.subarray(r * inner, (r + 1) * inner), i * inner);
    }
    return out;
  };
}

/** The native addon's loop when it is built (native/build.js), else the JS loop above. */
const native = loadNativeBlas();

/** Registers the training kernels the wasm backend lacks. Safe to call more than once. */
export function registerMissingWasmKernels(): string[] {
  const added: string[] = [];
  const missing: [string, (a: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]][] = [['UnsortedSegmentSum', unsortedSegmentSum], ['E3AdamW', adamwUpdate]];
  for (const [kernelName, fn] of missing) {
    if (tf.getKernel(kernelName, 'wasm')) continue;
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: fn as unknown as tf.KernelFunc });
    added.push(kernelName);
  }
  if (replaceWasmKernel('GatherV2', (original) => gatherRows(original) as unknown as tf.KernelFunc)) added.push('GatherV2 (row copies)');
  if (replaceWasmKernel('Identity', () => sharedIdentity as unknown as tf.KernelFunc)) added.push('Identity (shared memory)');
  return added;
}
