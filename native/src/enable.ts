import * as tf from '@tensorflow/tfjs-core';
import { loadAddon, type NativeAddon } from './addon.js';
import { ADAMW_KERNEL, adamwKernel } from './adamw.js';
import { registerDecoderBlockKernels } from './decoder-block.js';
import { registerHeadKernels } from './head-rows.js';
import { isHostBackend, setBufferPool } from './host-heap.js';
import { nativeMatMul } from './matmul.js';
import { resolveNativeOptions, type NativeOptions } from './options.js';
import { applyPrecision, choosePrecision, type PrecisionChoice } from './precision.js';
import { addKernel, replaceKernel } from './replace-kernel.js';

interface Active {
  backend: string;
  options: NativeOptions;
  addon?: NativeAddon;
}

let active: Active | undefined;

/** The addon, when the native kernels are on for the current backend; undefined otherwise. */
export function activeAddon(): NativeAddon | undefined {
  return active && active.backend === tf.getBackend() && active.options.native ? active.addon : undefined;
}

/** Whether the output head's row statistics run natively on the current backend (head-rows.ts). */
export function nativeHeadRows(): boolean {
  return activeAddon() !== undefined;
}

/** The addon, when decoder blocks run fused on the current backend. */
export function fusedBlockAddon(): NativeAddon | undefined {
  return active?.options.fused ? activeAddon() : undefined;
}

/**
 * Whether the trainer's AdamW should run as the one-pass E3AdamW kernel on the current backend:
 * on wasm always (the addon's loop, or the same loop in JS: either beats ~13 dispatched ops),
 * on cpu when the native kernels are on (else cpu stays the op-by-op reference).
 */
export function fusedAdamW(): boolean {
  const backend = tf.getBackend();
  if (!tf.getKernel(ADAMW_KERNEL, backend)) return false;
  return backend === 'wasm' || activeAddon() !== undefined;
}

export interface NativeSetup {
  /** The options in force (the graph's, then the E3_* overrides): what resolved.yaml records. */
  options: NativeOptions;
  /** For the run log: what runs natively, and why not where it does not. */
  note: string;
  overrides: string[];
  /** The products' precision and why (also in `note`); f32 where the native kernels do not run. */
  precision: PrecisionChoice;
}

/**
 * Turns the native kernels on for backend `backendName` (call after tf.setBackend): BatchMatMul
 * on OpenBLAS, E3AdamW, and the fused decoder block kernels, each on the backend's own memory.
 * The kernels stay registered for the process; turning them off later makes them fall back.
 */
export function enableNativeKernels(backendName: string, fromGraph: Partial<NativeOptions> = {}): NativeSetup {
  const { options, overrides } = resolveNativeOptions(fromGraph);
  if (!isHostBackend(backendName)) {
    active = undefined;
    const precision: PrecisionChoice = {
      requested: options.precision,
      used: 'f32',
      why: `f32: ${backendName} computes its own products (bf16 runs in the native kernels on wasm and cpu)`,
    };
    applyPrecision(undefined, precision);
    return { options, overrides, precision, note: `native kernels: none on ${backendName} (they run on wasm and cpu)` };
  }
  const addon = options.native ? loadAddon() : undefined;
  active = { backend: backendName, options, addon };
  if (backendName === 'cpu') {
    setBufferPool(options.bufferPool === false ? undefined : options.bufferPool * 2 ** 20, tf.engine().backend);
  }
  addKernel(ADAMW_KERNEL, backendName, adamwKernel(activeAddon));
  const precision = choosePrecision(options.precision, addon);
  applyPrecision(addon, precision);
  if (!addon) {
    const why = options.native ? 'native addon not built (native/build.js)' : 'native kernels off';
    return { options, overrides, precision, note: `${why}: ${backendName}'s own matmul (f32)` };
  }
  replaceKernel(
    'BatchMatMul',
    backendName,
    (original) => nativeMatMul(activeAddon, original) as unknown as tf.KernelFunc,
  );
  // One OpenBLAS thread unless the user chose otherwise: at e3's CPU sizes its worker threads
  // spent more time waking and yielding than multiplying (distillation step 61–74 ms with 2
  // threads vs 57–61 ms with 1, perf: __schedule/sched_yield were the top symbols).
  if (!process.env.OPENBLAS_NUM_THREADS) addon.setThreads(1);
  addon.setKernelThreads(options.threads);
  if (options.fused) registerDecoderBlockKernels(addon, backendName);
  registerHeadKernels(activeAddon, backendName);
  const threads = addon.threads();
  const fused = options.fused ? `; fused native decoder blocks (${threads} thread${threads > 1 ? 's' : ''})` : '';
  const engine = precision.used === 'f32' ? 'OpenBLAS' : 'OpenBLAS and oneDNN';
  return {
    options,
    overrides,
    precision,
    note: `BatchMatMul on native ${engine}${fused}; native output-head statistics; precision: ${precision.why}`,
  };
}
