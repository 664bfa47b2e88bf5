import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Dimensions of one fused decoder block call (cc/decoder_block.cc). */
export interface BlockDims {
  B: number;
  T: number;
  P: number;
  D: number;
  H: number;
  KV: number;
  hd: number;
  F: number;
  eps: number;
}

type F32 = Float32Array;

/** The addon's head entry points (cc/head_rows.cc); each checks every length. */
export interface HeadRowsAddon {
  headTopK(
    logits: Float32Array,
    rows: number,
    v: number,
    k: number,
    ids: Int32Array,
    logProbs: Float32Array,
    entropy: Float32Array,
  ): void;
  headPick(logits: Float32Array, rows: number, v: number, cols: Int32Array, m: number, out: Float32Array): void;
  headPickGrad(
    logits: Float32Array,
    rows: number,
    v: number,
    cols: Int32Array,
    m: number,
    g: Float32Array,
    dz: Float32Array,
  ): void;
  headKl(p: Float32Array, q: Float32Array, rows: number, v: number, out: Float32Array): void;
}

/**
 * The addon's entry points (cc/). Each checks every array's length against what its dimensions
 * imply and throws a RangeError naming the call, the tensor and the dims on a mismatch.
 */
export interface NativeAddon extends HeadRowsAddon {
  sgemmBatched(
    a: F32,
    b: F32,
    out: F32,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    strideA: number,
    strideB: number,
    beta?: number,
    aBf16?: Uint16Array,
    bBf16?: Uint16Array,
  ): void;
  /** out = x + y elementwise (out may alias x or y). */
  add(x: F32, y: F32, out: F32): void;
  setThreads(n: number): void;
  adamw(
    w: F32,
    g: F32,
    m: F32,
    v: F32,
    wOut: F32,
    mOut: F32,
    vOut: F32,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    decay: number,
    bc1: number,
    bc2: number,
    gradScale?: number,
    wBf16?: Uint16Array,
  ): void;
  /** How products are computed from now on (cc/gemm.h): auto is bf16 from `autoMinWork` multiply-adds. */
  setPrecision(p: 'f32' | 'bf16' | 'auto'): void;
  /** oneDNN's version and ISA here ("" without oneDNN), and auto's size threshold. */
  precisionInfo(): { onednn: string; isa: string; autoMinWork: number };
  /** dst = src rounded to bf16 (nearest even). */
  toBf16(src: F32, dst: Uint16Array): void;
  /** out = op(a)·op(b) on one engine (bench/matmul-rates.js); false where it is not built in. */
  matmulWith(
    engine: 'openblas' | 'onednn-f32' | 'onednn-bf16',
    a: F32 | Uint16Array,
    b: F32 | Uint16Array,
    out: F32,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
  ): boolean;
  decoderBlockForward(
    dims: BlockDims,
    tensors: Record<string, F32 | Uint16Array>,
    outputs: Record<string, F32 | undefined>,
  ): void;
  decoderBlockBackward(dims: BlockDims, tensors: Record<string, F32 | Uint16Array>, outputs: Record<string, F32>): void;
  decoderBlockWeightGradient(dims: BlockDims, tensors: Record<string, F32>, name: string, out: F32): void;
  decoderBlockSizes(dims: BlockDims): { saved: number; upstream: number };
  /** Threads the fused kernels use now (1, or 2 with a second core). */
  threads(): number;
  setKernelThreads(n: number): void;
}

/** Where native/build.js puts the addon. */
export const ADDON_PATH = fileURLToPath(new URL('../build/e3_kernels.node', import.meta.url));

let cached: NativeAddon | undefined | null = null;

/** The addon if it was built (native/build.js) and loads; undefined otherwise. */
export function loadAddon(): NativeAddon | undefined {
  if (cached !== null) return cached;
  cached = undefined;
  if (!existsSync(ADDON_PATH)) return cached;
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as Partial<NativeAddon>;
    // An addon from an older build lacks entry points: it must not stand in for this version's.
    if (
      addon.setKernelThreads &&
      addon.decoderBlockForward &&
      addon.adamw &&
      addon.headTopK &&
      addon.add &&
      addon.setPrecision
    )
      cached = addon as NativeAddon;
  } catch {
    /* not loadable here (another platform's build): e3 runs without it */
  }
  return cached;
}
