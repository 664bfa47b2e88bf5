import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { hostHeap, type KernelArgs } from './host-heap.js';
import { asAttrs } from './kernel-attrs.js';

/**
 * The output head's row statistics (cc/head_rows.cc) as tfjs kernels on a host backend: from
 * one chunk of logits [rows, V], what the chunked head takes, each in one native pass per row
 * instead of a chain of tensor ops over [rows, V]. No gradients of their own: the chunked head
 * calls them inside its customGrad (plugins/src/model/student-tokens.ts).
 */
const TOP_K = 'E3HeadTopK';
const PICK = 'E3HeadPick';
const PICK_GRAD = 'E3HeadPickGrad';
const KL = 'E3HeadKl';

type F32 = Float32Array;
type I32 = Int32Array;

function topKKernel(addon: () => NativeAddon | undefined) {
  return ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const heap = hostHeap(backend);
    const [rows, v] = inputs.logits.shape;
    const k = Number(attrs?.k);
    const outs = [
      heap.makeOutput([rows, k], 'int32'),
      heap.makeOutput([rows, k], 'float32'),
      heap.makeOutput([rows], 'float32'),
    ];
    const [ids, logProbs, entropy] = outs.map((t) => heap.typedArrayFromHeap(t));
    addon()!.headTopK(
      heap.typedArrayFromHeap(inputs.logits) as F32,
      rows,
      v,
      k,
      ids as I32,
      logProbs as F32,
      entropy as F32,
    );
    return outs;
  };
}

function pickKernel(addon: () => NativeAddon | undefined) {
  return ({ inputs, backend }: KernelArgs): tf.TensorInfo => {
    const heap = hostHeap(backend);
    const [rows, v] = inputs.logits.shape;
    const m = inputs.cols.shape[1];
    const out = heap.makeOutput([rows, m + 1], 'float32');
    const view = heap.typedArrayFromHeap(out) as F32;
    const [z, cols] = [heap.typedArrayFromHeap(inputs.logits) as F32, heap.typedArrayFromHeap(inputs.cols) as I32];
    addon()!.headPick(z, rows, v, cols, m, view);
    return out;
  };
}

function pickGradKernel(addon: () => NativeAddon | undefined) {
  return ({ inputs, backend }: KernelArgs): tf.TensorInfo => {
    const heap = hostHeap(backend);
    const [rows, v] = inputs.logits.shape;
    const m = inputs.cols.shape[1];
    const out = heap.makeOutput([rows, v], 'float32');
    const dz = heap.typedArrayFromHeap(out) as F32;
    const z = heap.typedArrayFromHeap(inputs.logits) as F32;
    addon()!.headPickGrad(
      z,
      rows,
      v,
      heap.typedArrayFromHeap(inputs.cols) as I32,
      m,
      heap.typedArrayFromHeap(inputs.g) as F32,
      dz,
    );
    return out;
  };
}

function klKernel(addon: () => NativeAddon | undefined) {
  return ({ inputs, backend }: KernelArgs): tf.TensorInfo => {
    const heap = hostHeap(backend);
    const [rows, v] = inputs.p.shape;
    const out = heap.makeOutput([rows], 'float32');
    const view = heap.typedArrayFromHeap(out) as F32;
    addon()!.headKl(heap.typedArrayFromHeap(inputs.p) as F32, heap.typedArrayFromHeap(inputs.q) as F32, rows, v, view);
    return out;
  };
}

/** Registers the head kernels on backend `backendName` (they call the addon `addon()` returns). */
export function registerHeadKernels(addon: () => NativeAddon | undefined, backendName: string): void {
  const kernels: [string, (args: KernelArgs) => unknown][] = [
    [TOP_K, topKKernel(addon)],
    [PICK, pickKernel(addon)],
    [PICK_GRAD, pickGradKernel(addon)],
    [KL, klKernel(addon)],
  ];
  for (const [kernelName, fn] of kernels) {
    if (!tf.getKernel(kernelName, backendName))
      tf.registerKernel({ kernelName, backendName, kernelFunc: fn as unknown as tf.KernelFunc });
  }
}

/** Top-k ids [rows, k] and log-probabilities [rows, k] (descending) and the entropy [rows] of each row of logits. */
export function headTopK(
  logits: tf.Tensor2D,
  k: number,
): { ids: tf.Tensor2D; logProbs: tf.Tensor2D; entropy: tf.Tensor1D } {
  const [ids, logProbs, entropy] = tf.engine().runKernel(TOP_K, { logits }, asAttrs({ k })) as tf.Tensor[];
  return { ids: ids as tf.Tensor2D, logProbs: logProbs as tf.Tensor2D, entropy: entropy as tf.Tensor1D };
}

/** [rows, m + 1]: the log-softmax of each row at int32 `cols` [rows, m], then the row's mean log-softmax. */
export function headPick(logits: tf.Tensor2D, cols: tf.Tensor2D): tf.Tensor2D {
  return tf.engine().runKernel(PICK, { logits, cols }) as tf.Tensor2D;
}

/** The gradient [rows, V] to the logits of {@link headPick}'s output under upstream `g` [rows, m + 1]. */
export function headPickGrad(logits: tf.Tensor2D, cols: tf.Tensor2D, g: tf.Tensor2D): tf.Tensor2D {
  return tf.engine().runKernel(PICK_GRAD, { logits, cols, g }) as tf.Tensor2D;
}

/** KL(softmax(p) ‖ softmax(q)) per row of two logits tensors [rows, V]: [rows]. */
export function headKl(p: tf.Tensor2D, q: tf.Tensor2D): tf.Tensor1D {
  return tf.engine().runKernel(KL, { p, q }) as tf.Tensor1D;
}
