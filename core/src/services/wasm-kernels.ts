import * as tf from '@tensorflow/tfjs-core';
import {
  addKernel,
  hostHeap,
  recordWrittenRows,
  replaceKernel,
  shareInput,
  type HostHeap,
  type KernelArgs,
} from '@e3/native';

type WasmHeap = HostHeap;
const replaceWasmKernel = (name: string, make: (original: tf.KernelFunc) => tf.KernelFunc) =>
  replaceKernel(name, 'wasm', make);

/**
 * `UnsortedSegmentSum` for the wasm backend, which does not ship it; it is the gradient of
 * `gather` (embedding lookups), so training on wasm needs it. Computed in JS over the wasm
 * heap: out[segmentIds[i], …] += x[i, …]; ids outside [0, numSegments) are dropped, as in TF.
 */
function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const wasm = hostHeap(backend);
  const { x, segmentIds } = inputs;
  const numSegments = Number(attrs?.numSegments);
  const inner = x.shape.slice(segmentIds.shape.length).reduce((a, b) => a * b, 1);
  const shape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  // An embedding's gradient is mostly zero rows: on fresh host arrays only the rows hit are touched.
  const out = wasm.makeZeroedOutput?.(shape, x.dtype) ?? wasm.makeOutput(shape, x.dtype);
  // Views of the heap (not readSync copies), taken after makeOutput, which may grow the heap.
  const xs = wasm.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const ids = wasm.typedArrayFromHeap(segmentIds) as Int32Array;
  const o = wasm.typedArrayFromHeap(out);
  if (!wasm.makeZeroedOutput) o.fill(0);
  // The rows written, recorded for an in-place sum (only where the output was zeroed fresh memory).
  const hit = wasm.makeZeroedOutput ? new Set<number>() : undefined;
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    hit?.add(s);
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += xs[src + j];
  }
  if (hit) recordWrittenRows(o, Int32Array.from(hit));
  return out;
}

/**
 * `Identity` that shares the input's memory (reference count + 1) instead of copying it, as the
 * cpu backend's does and as the wasm backend's own `Reshape` already does — tensors are
 * immutable, so a copy buys nothing. The engine clones every tensor it saves for a gradient, so
 * the copying version moved each weight and every saved activation once per training step.
 */
function sharedIdentity({ inputs, backend }: KernelArgs): tf.TensorInfo {
  return shareInput(backend, inputs.x);
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
    if (
      axis !== 0 ||
      Number(attrs?.batchDims ?? 0) !== 0 ||
      rank < 1 ||
      x.dtype !== 'float32' ||
      indices.dtype !== 'int32'
    )
      return fallback(args as never) as tf.TensorInfo;
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

/**
 * The cpu backend's own `UnsortedSegmentSum` loops over the segments with tensor ops (a mask, a
 * product and a sum per segment): for an embedding's gradient at a vocabulary of 151,936 that is
 * 151,936 × 3 tensors of the batch's size, which took the process past 24 GiB. The one pass over
 * the ids above does the same sum. Returns true when it replaced the kernel now.
 */
export function replaceCpuSegmentSum(): boolean {
  return replaceKernel('UnsortedSegmentSum', 'cpu', () => unsortedSegmentSum as unknown as tf.KernelFunc);
}

/** Registers the training kernels the wasm backend lacks. Safe to call more than once. */
export function registerMissingWasmKernels(): string[] {
  const added: string[] = [];
  if (addKernel('UnsortedSegmentSum', 'wasm', unsortedSegmentSum)) added.push('UnsortedSegmentSum');
  if (replaceWasmKernel('GatherV2', (original) => gatherRows(original) as unknown as tf.KernelFunc))
    added.push('GatherV2 (row copies)');
  if (replaceWasmKernel('Identity', () => sharedIdentity as unknown as tf.KernelFunc))
    added.push('Identity (shared memory)');
  return added;
}
