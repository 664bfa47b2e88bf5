import * as tf from '@tensorflow/tfjs-core';
import { activeAddon, hostHeap, replaceKernel, shareInput, type KernelArgs } from '@e3/native';

/**
 * Faster paths for the cpu backend's kernels that real-size training hits with [V, d] tensors
 * (V = 151,936: 155M floats), where its generic implementations (per-element broadcast index
 * arithmetic) took seconds each: measured on one Qwen3-0.6B distillation step, three Adds of
 * the head's gradient chunks 9.8 s and one Transpose of the embedding 7.4 s. Other shapes and
 * dtypes go to the original kernels.
 */

/** `Add` of two float32 tensors of one shape: one loop over the values. */
function sameShapeAdd(fallback: tf.KernelFunc) {
  return (args: KernelArgs): tf.TensorInfo => {
    const { a, b } = args.inputs;
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.join() !== b.shape.join() || a.shape.length === 0) {
      return fallback(args as never) as tf.TensorInfo;
    }
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
