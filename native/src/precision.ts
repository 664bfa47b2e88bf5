import type { NativeAddon } from './addon.js';
import type { Precision } from './options.js';

/** ISAs (oneDNN's names) with bf16 arithmetic in hardware: AMX tiles, or AVX-512 BF16 dot products. */
const BF16_ISAS = ['avx512_core_amx', 'avx512_core_bf16'];

/** The precision the products run in, and why: what the run log and resolved.yaml say. */
export interface PrecisionChoice {
  /** What was asked for (the graph's `backend.precision`, or E3_PRECISION). */
  requested: Precision;
  /** What runs: f32, bf16 for every product, or bf16 from `minWork` multiply-adds (auto). */
  used: 'f32' | 'bf16' | 'bf16-large';
  /** Multiply-adds from which a product runs in bf16 under `bf16-large`. */
  minWork?: number;
  why: string;
}

const MiB = 2 ** 20;
const size = (work: number) => (work >= MiB ? `${Math.round(work / MiB)}Mi` : String(work));

/**
 * What `requested` comes to with this addon on this CPU. bf16 needs oneDNN in the addon (libdnnl-dev
 * at build time) and bf16 in hardware (oneDNN's ISA avx512_core_amx or avx512_core_bf16); without either,
 * both bf16 and auto run f32 and say why.
 */
export function choosePrecision(requested: Precision, addon: NativeAddon | undefined): PrecisionChoice {
  if (requested === 'f32') return { requested, used: 'f32', why: 'precision f32 requested' };
  if (!addon) return { requested, used: 'f32', why: 'f32: the native addon is not built (native/build.js)' };
  const info = addon.precisionInfo();
  if (!info.onednn)
    return {
      requested,
      used: 'f32',
      why: 'f32: oneDNN is not built into the native addon (apt-get install libdnnl-dev, then npm run build)',
    };
  if (!BF16_ISAS.includes(info.isa))
    return {
      requested,
      used: 'f32',
      why:
        `f32: this CPU has no bf16 arithmetic (oneDNN ${info.onednn} ISA ${info.isa}; ` +
        'bf16 needs AMX or avx512_bf16)',
    };
  const where = `oneDNN ${info.onednn}, ${info.isa}`;
  if (requested === 'bf16') return { requested, used: 'bf16', why: `bf16 products, f32 accumulation (${where})` };
  return {
    requested,
    used: 'bf16-large',
    minWork: info.autoMinWork,
    why:
      `auto: bf16 products from ${size(info.autoMinWork)} multiply-adds, f32 below (${where}); ` +
      'norms, softmax, residuals, losses and optimizer state in f32',
  };
}

let active: PrecisionChoice | undefined;

/** The choice in force (set by enableNativeKernels); undefined before, or where products run in f32. */
export function activePrecision(): PrecisionChoice | undefined {
  return active;
}

/** Records `choice` as the one in force and sets the addon's precision to it (cc/gemm.h). */
export function applyPrecision(addon: NativeAddon | undefined, choice: PrecisionChoice): void {
  active = choice;
  addon?.setPrecision(choice.used === 'f32' ? 'f32' : choice.used === 'bf16' ? 'bf16' : 'auto');
}

/** Whether a product of `work` multiply-adds runs in bf16 under the choice in force. */
export function productInBf16(work: number): boolean {
  if (!active || active.used === 'f32') return false;
  return active.used === 'bf16' || work >= (active.minWork ?? Infinity);
}
