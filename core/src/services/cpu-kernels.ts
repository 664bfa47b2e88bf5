import * as tf from '@tensorflow/tfjs-core';
import {
  activeAddon,
  forgetBf16Copy,
  hostHeap,
  replaceKernel,
  shareInput,
  takeGradientAccumulator,
  writtenRowsOf,
  type KernelArgs,
} from '@e3/native';

/**
 * Faster paths for the cpu backend's kernels that real-size training hits with [V, d] tensors
 * (V = 151,936: 155M floats), where its generic implementations (per-element broadcast index
 * arithmetic) took seconds each: measured on one Qwen3-0.6B distillation step, three Adds of
 * the head's gradient chunks 9.8 s and one Transpose of the embedding 7.4 s. Other shapes and
 * dtypes go to the original kernels.
 */

/**
 * acc + other written into acc, when acc is a gradient marked as the tape's alone
 * (native/src/gradient-sum.ts) and nothing else holds it; only other's written rows when it
 * recorded them. Undefined when the sum cannot be in place.
 */
function sumIntoGradient(backend: unknown, acc: tf.TensorInfo, other: tf.TensorInfo): tf.TensorInfo | undefined {
  if ((backend as { refCount(id: tf.DataId): number }).refCount(acc.dataId) !== 1) return undefined;
  if (!takeGradientAccumulator(acc)) return undefined;
  forgetBf16Copy(acc.dataId); // its values change in place
  const heap = hostHeap(backend);
  const into = heap.typedArrayFromHeap(acc) as Float32Array;
  const from = heap.typedArrayFromHeap(other) as Float32Array;
  const rows = writtenRowsOf(from);
  if (rows) {
    const width = acc.shape.slice(1).reduce((x, y) => x * y, 1);
    for (const r of rows) for (let j = r * width; j < (r + 1) * width; j++) into[j] += from[j];
  } else {
    const addon = activeAddon();
    if (addon) addon.add(into, from, into);
    else for (let i = 0; i < into.length; i++) into[i] += from[i];
  }
  return shareInput(backend, acc);
}

/** `Add` of two float32 tensors of one shape: one loop over the values (in place into a marked gradient). */
function sameShapeAdd(fallback: tf.KernelFunc) {
  return (args: KernelArgs): tf.TensorInfo => {
    const { a, b } = args.inputs;
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.join() !== b.shape.join() || a.shape.length === 0) {
      return fallback(args as never) as tf.TensorInfo;
    }
    const inPlace = sumIntoGradient(args.backend, a, b) ?? sumIntoGradient(args.backend, b, a);
    if (inPlace) return inPlace;
    const heap = hostHeap(args.backend);
    const out = heap.makeOutput(a.shape, 'float32');
    const o = heap.typedArrayFromHeap(out) as Float32Array;
    const x = heap.typedArrayFromHeap(a) as Float32Array;
    const y = heap.typedArrayFromHeap(b) as Float32Array;
    const addon = activeAddon();
    if (addon) addon.add(x, y, o);
    else for (let i = 0; i < o.length; i++) o[i] = x[i] + y[i];
    return out;
  };
}

/**
 * `Transpose` of a float32 matrix ([1, 0]) in cache-sized tiles; an identity permutation (the
 * gradient of a gather along axis 0 ends in one) shares the input's values, as Reshape does.
 */
function matrixTranspose(fallback: tf.KernelFunc) {
  return (args: KernelArgs): tf.TensorInfo => {
    const { x } = args.inputs;
    const perm = (args.attrs?.perm as number[] | undefined) ?? [];
    if (perm.length === x.shape.length && perm.every((p, i) => p === i)) return shareInput(args.backend, x);
    if (x.dtype !== 'float32' || x.shape.length !== 2 || perm[0] !== 1 || perm[1] !== 0) {
      return fallback(args as never) as tf.TensorInfo;
    }
    const [rows, cols] = x.shape;
    const heap = hostHeap(args.backend);
    const out = heap.makeOutput([cols, rows], 'float32');
    const o = heap.typedArrayFromHeap(out) as Float32Array;
    const v = heap.typedArrayFromHeap(x) as Float32Array;
    const tile = 64;
    for (let r0 = 0; r0 < rows; r0 += tile) {
      const r1 = Math.min(rows, r0 + tile);
      for (let c0 = 0; c0 < cols; c0 += tile) {
        const c1 = Math.min(cols, c0 + tile);
        for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) o[c * rows + r] = v[r * cols + c];
      }
    }
    return out;
  };
}

/** Replaces the cpu backend's Add and Transpose with the paths above (once). */
export function registerCpuKernels(): string[] {
  const added: string[] = [];
  if (replaceKernel('Add', 'cpu', (f) => sameShapeAdd(f) as unknown as tf.KernelFunc)) added.push('Add');
  if (replaceKernel('Transpose', 'cpu', (f) => matrixTranspose(f) as unknown as tf.KernelFunc)) added.push('Transpose');
  return added;
}
