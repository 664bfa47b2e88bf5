import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { bf16CopyIfReread, forgetBf16Copy } from './bf16-copies.js';
import { hostHeap, type KernelArgs } from './host-heap.js';
import { productInBf16 } from './precision.js';

const size = (s: number[]) => s.reduce((x, y) => x * y, 1);

/**
 * `BatchMatMul` on OpenBLAS sgemm (or oneDNN in bf16, by the precision in force), called directly
 * on the backend's memory (no copies: N-API receives Float32Array views of the tensors). Batch broadcasting beyond "same batch or batch 1"
 * falls back to the original kernel, as does every call while the native kernels are off. The matmul is >80% of a training step on wasm
 * (bench/results/throughput.md), so this is the lever that matters.
 */
export function nativeMatMul(addonNow: () => NativeAddon | undefined, fallback: tf.KernelFunc) {
  return (args: KernelArgs): tf.TensorInfo => {
    const addon = addonNow();
    const { a, b } = args.inputs;
    const ta = Boolean(args.attrs?.transposeA),
      tb = Boolean(args.attrs?.transposeB);
    const original = () => fallback(args as never) as tf.TensorInfo;
    if (!addon || a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2)
      return original();
    // tfjs hands this kernel rank-2 or rank-3 operands; leading dims are the batch.
    const lead = (s: number[]) => s.slice(0, -2);
    const [a1, a2] = a.shape.slice(-2);
    const [b1, b2] = b.shape.slice(-2);
    const ba = size(lead(a.shape)),
      bb = size(lead(b.shape));
    const m = ta ? a2 : a1,
      k = ta ? a1 : a2,
      n = tb ? b1 : b2;
    if ((tb ? b2 : b1) !== k) return original();
    const sameLead = lead(a.shape).join() === lead(b.shape).join();
    if (!sameLead && ba !== 1 && bb !== 1) return original();
    const batchShape = sameLead || bb === 1 ? lead(a.shape) : lead(b.shape);
    const batch = Math.max(ba, bb);
    const heap = hostHeap(args.backend);
    const out = heap.makeOutput([...batchShape, m, n], 'float32');
    // Views are taken after makeOutput, which may grow (and so replace) the wasm heap.
    const c = heap.typedArrayFromHeap(out) as Float32Array;
    if (m * n * k === 0) {
      c.fill(0);
      return out;
    }
    const av = heap.typedArrayFromHeap(a) as Float32Array,
      bv = heap.typedArrayFromHeap(b) as Float32Array;
    // In bf16, an operand read again (a weight: the output head's, chunk after chunk) is rounded once.
    const bf16 = productInBf16(m * n * k);
    const a16 = bf16 ? bf16CopyIfReread(addon, a.dataId, av) : undefined;
    const b16 = bf16 ? bf16CopyIfReread(addon, b.dataId, bv) : undefined;
    addon.sgemmBatched(av, bv, c, batch, m, n, k, ta, tb, ba === 1 ? 0 : m * k, bb === 1 ? 0 : k * n, 0, a16, b16);
    return out;
  };
}

/**
 * acc += op(a) · op(b), in place on `acc` (rank 2, float32), with the native sgemm (β = 1) when
 * `addon` is given; otherwise acc is replaced by acc + the product (and the old one disposed).
 * Only for a tensor the caller made and nothing else holds yet (a gradient being summed over
 * chunks): it saves one [m, n] product and one sum per call, 622 MB each for Qwen3's head.
 */
export function matMulAccumulate(
  addon: NativeAddon | undefined,
  acc: tf.Tensor2D,
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  op: { transA?: boolean; transB?: boolean } = {},
): tf.Tensor2D {
  const { transA = false, transB = false } = op;
  const [m, n] = acc.shape;
  const k = transA ? a.shape[0] : a.shape[1];
  const fits = (transA ? a.shape[1] : a.shape[0]) === m && (transB ? b.shape[0] : b.shape[1]) === n;
  if (!addon || !fits || [acc, a, b].some((t) => t.dtype !== 'float32')) {
    const sum = tf.tidy(() => tf.add(acc, tf.matMul(a, b, transA, transB))) as tf.Tensor2D;
    acc.dispose();
    return sum;
  }
  const heap = hostHeap(tf.backend());
  const view = (t: tf.Tensor) => heap.typedArrayFromHeap(t) as Float32Array;
  forgetBf16Copy(acc.dataId); // its values change in place
  addon.sgemmBatched(view(a), view(b), view(acc), 1, m, n, k, transA, transB, 0, 0, 1);
  return acc;
}
