import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { replaceWasmKernel } from './replace-wasm-kernel.js';

/** Dimensions of one fused decoder block call (native/decoder_block.cc). */
export interface BlockDims { B: number; T: number; P: number; D: number; H: number; KV: number; hd: number; F: number; eps: number }

export interface NativeBlas {
  sgemmBatched(a: Float32Array, b: Float32Array, out: Float32Array, batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean, strideA: number, strideB: number): void;
  setThreads(n: number): void;
  /** Present in addons built from this version (older builds lack it). */
  /** Fused decoder block (native/decoder_block.cc); present in addons built from this version. */
  decoderBlockForward?(dims: BlockDims, tensors: Record<string, Float32Array>, outputs: Record<string, Float32Array | undefined>): void;
  decoderBlockBackward?(dims: BlockDims, tensors: Record<string, Float32Array>, outputs: Record<string, Float32Array>): void;
  decoderBlockWeightGradient?(dims: BlockDims, tensors: Record<string, Float32Array>, name: string, out: Float32Array): void;
  decoderBlockSizes?(dims: BlockDims): { saved: number; upstream: number };
  /** Threads the fused kernels use: 2 with a second core and E3_THREADS ≠ 1, else 1. */
  threads?(): number;
  adamw?(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, wOut: Float32Array, mOut: Float32Array, vOut: Float32Array, lr: number, beta1: number, beta2: number, eps: number, decay: number, bc1: number, bc2: number): void;
}

/** What the executor of a kernel receives from tfjs (only the fields e3's kernels use). */
export interface KernelArgs {
  inputs: Record<string, tf.TensorInfo>;
  backend: unknown;
  attrs?: Record<string, unknown>;
}

/** The wasm backend's heap API, as kernels use it. */
export interface WasmHeap {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.backend_util.TypedArray;
}

const ADDON = fileURLToPath(new URL('../../../native/build/e3_blas.node', import.meta.url));

/** The native OpenBLAS addon, if it was built (native/build.js); undefined otherwise. */
export function loadNativeBlas(): NativeBlas | undefined {
  if (process.env.E3_NATIVE_BLAS === '0' || !existsSync(ADDON)) return undefined;
  try { return createRequire(import.meta.url)(ADDON) as NativeBlas; } catch { return undefined; }
}

/**
 * Replaces the wasm backend's `BatchMatMul` with OpenBLAS sgemm called directly on the wasm
 * heap (no copies: N-API receives Float32Array views of the tensors). Batch broadcasting
 * beyond "same batch or batch 1" falls back to the original kernel. The matmul is >80% of a
 * training step on wasm (bench/results/throughput.md), so this is the lever that matters.
 * Returns a note for the run log, or undefined when the addon is not available.
 */
export function registerNativeMatMul(): string | undefined {
  const blas = loadNativeBlas();
  if (!blas || !tf.getKernel('BatchMatMul', 'wasm')) return undefined;
  const nativeMatMul = (fallback: tf.KernelFunc) => (args: KernelArgs) => {
    const { a, b } = args.inputs;
    const ta = Boolean(args.attrs?.transposeA), tb = Boolean(args.attrs?.transposeB);
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return fallback(args as never);
    // tfjs hands this kernel rank-2 or rank-3 operands; leading dims are the batch.
    const lead = (s: number[]) => s.slice(0, -2);
    const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
    const [a1, a2] = a.shape.slice(-2);
    const [b1, b2] = b.shape.slice(-2);
    const ba = size(lead(a.shape)), bb = size(lead(b.shape));
    const m = ta ? a2 : a1, k = ta ? a1 : a2, n = tb ? b1 : b2;
    if ((tb ? b2 : b1) !== k) return fallback(args as never);
    const sameLead = lead(a.shape).join() === lead(b.shape).join();
    if (!sameLead && ba !== 1 && bb !== 1) return fallback(args as never);
    const batchShape = sameLead || bb === 1 ? lead(a.shape) : lead(b.shape);
    const batch = Math.max(ba, bb);
    const heap = args.backend as WasmHeap;
    const out = heap.makeOutput([...batchShape, m, n], 'float32');
    // Views are taken after makeOutput, which may grow (and so replace) the heap.
    const c = heap.typedArrayFromHeap(out) as Float32Array;
    if (m * n * k === 0) { c.fill(0); return out; }
    blas.sgemmBatched(heap.typedArrayFromHeap(a) as Float32Array, heap.typedArrayFromHeap(b) as Float32Array, c, batch, m, n, k, ta, tb, ba === 1 ? 0 : m * k, bb === 1 ? 0 : k * n);
    return out;
  };
  // One OpenBLAS thread unless the user chose otherwise: at e3's CPU sizes its worker threads
  // spent more time waking and yielding than multiplying (distillation step 61–74 ms with 2
  // threads vs 57–61 ms with 1, perf: __schedule/sched_yield were the top symbols).
  if (replaceWasmKernel('BatchMatMul', (fallback) => nativeMatMul(fallback) as unknown as tf.KernelFunc) && !process.env.OPENBLAS_NUM_THREADS) blas.setThreads(1);
  return nativeNote(blas);
}

/** Threads the native kernels use (decided by the addon; 1 without it). */
export function nativeThreads(): number {
  return loadNativeBlas()?.threads?.() ?? 1;
}

/** What the run log says about the native kernels in use. */
function nativeNote(blas: NativeBlas): string {
  const fused = blas.decoderBlockForward && process.env.E3_FUSED !== '0';
  const threads = nativeThreads();
  return `BatchMatMul on native OpenBLAS${fused ? `; fused native decoder blocks (${threads} thread${threads > 1 ? 's' : ''})` : ''}`;
}
