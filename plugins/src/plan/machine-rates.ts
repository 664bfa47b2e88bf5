import { readFileSync } from 'node:fs';
import { cpus, hostname, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { toFloat32 } from '../model/safetensors.js';
import { AdamW, globalNormScale } from '../trainer/adamw.js';
import { initBackend, resolveBackendOptions, writeFileAtomic } from '@e3/core';
import { activePrecision } from '@e3/native';

/** This machine's rates on one backend, measured by {@link measureRates}. */
export interface MachineRates {
  /** Which machine and backend they are for (the cache key). */
  readonly key: string;
  /**
   * Matmul FLOP/s of [512 × h] · [h × 3h], by hidden size h, in the graph's precision (bf16 products
   * on oneDNN where backend.precision makes them so: the rates are kept per precision).
   */
  readonly matmul: Record<string, number>;
  /** The precision the matmul rates were measured in (native/src/precision.ts), e.g. "bf16-large". */
  readonly precision?: string;
  /** Seconds of one small kernel call (dispatch, tidy and dispose): what small models spend time on. */
  readonly callSeconds: number;
  /** Bytes per second of a large Float32Array copy. */
  readonly copyBytesPerSecond: number;
  /** bf16 bytes per second converted to f32 (safetensors.ts toFloat32): loading and writing checkpoints. */
  readonly convertBytesPerSecond: number;
  /** Parameters per second through a step's update: the gradients' global norm, then AdamW (trainer/adamw.ts). */
  readonly updateValuesPerSecond: number;
  readonly measuredAt: string;
  /**
   * The machine's one-minute load average per core when they were measured: above
   * {@link BUSY_LOAD} other processes shared the cores, so the rates are low and are measured
   * again once the machine is quieter.
   */
  readonly loadPerCore?: number;
}

/** Load per core above which rates count as measured on a busy machine. */
export const BUSY_LOAD = 0.75;
/** Rates older than this are measured again (software, drivers and neighbours change). */
const MAX_AGE_DAYS = 30;

/** This machine's one-minute load average per core, now. */
export function loadPerCore(): number {
  return loadavg()[0] / Math.max(1, cpus().length);
}

/**
 * Why kept rates should be measured again, if they should: too old, or measured on a busy machine
 * that is now quieter (by more than half a core's load).
 */
export function staleBecause(r: MachineRates, now = Date.now(), load = loadPerCore()): string | undefined {
  const days = (now - Date.parse(r.measuredAt)) / 86_400_000;
  if (!(days <= MAX_AGE_DAYS)) return `measured ${Math.floor(days)} days ago`;
  const then = r.loadPerCore;
  if (then !== undefined && then > BUSY_LOAD && load < then - 0.5)
    return `measured at a load of ${then.toFixed(1)} per core, now ${load.toFixed(1)}`;
  return undefined;
}

/** Where measured rates are kept (per machine and backend): `E3_RATES_FILE` or .e3-cache/machine-rates.json. */
export function ratesFile(): string {
  return resolve(process.env.E3_RATES_FILE ?? '.e3-cache/machine-rates.json');
}

/** The cache key of the rates of `backend` with the graph's native options on this machine. */
export function ratesKey(backend: string, graphBackend: unknown): string {
  const o = resolveBackendOptions(graphBackend);
  const cpu = cpus()[0]?.model ?? 'cpu';
  const parts = [hostname(), cpu, `${cpus().length} cores`, backend, `threads ${o.threads}`, `native ${o.native}`];
  // f32 keeps the key it had before precisions existed (rates measured then stay valid).
  if (o.precision !== 'f32') parts.push(`precision ${o.precision}`);
  return parts.join(' | ');
}

function readAll(): Record<string, MachineRates> {
  try {
    const j = JSON.parse(readFileSync(ratesFile(), 'utf8')) as unknown;
    return j && typeof j === 'object' && !Array.isArray(j) ? (j as Record<string, MachineRates>) : {};
  } catch {
    return {};
  }
}

/**
 * Rates measured before for `key` that cover every hidden size in `hidden` and are not stale
 * ({@link staleBecause}), if any.
 */
export function cachedRates(key: string, hidden: readonly number[]): MachineRates | undefined {
  const r = readAll()[key];
  const rates = [r?.callSeconds, r?.convertBytesPerSecond, r?.updateValuesPerSecond];
  if (!r || !rates.every((x) => typeof x === 'number') || !r.matmul) return undefined;
  if (staleBecause(r)) return undefined;
  return hidden.every((h) => typeof r.matmul[h] === 'number') ? r : undefined;
}

/** Best seconds per call of `fn` over repeats until `budget` seconds have passed (at least 3 calls). */
async function timeCall(fn: () => tf.Tensor, budget: number): Promise<number> {
  let best = Infinity;
  const start = performance.now();
  for (let i = 0; i < 3 || performance.now() - start < budget * 1000; i++) {
    const t0 = performance.now();
    const out = fn();
    await out.data();
    out.dispose();
    best = Math.min(best, (performance.now() - t0) / 1000);
    if (i > 200) break;
  }
  return best;
}

/** Parameters per second through the trainer's update (global norm and AdamW) of a 4M-value weight. */
async function updateRate(): Promise<number> {
  const n = 4 * 2 ** 20;
  const w = tf.variable(tf.randomNormal([n / 1024, 1024]));
  const g = tf.randomNormal(w.shape);
  const opt = new AdamW([w], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
  let best = Infinity;
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    const { scale } = await globalNormScale([g], 1);
    opt.apply([g], 1e-4, scale);
    await w.data();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  opt.dispose();
  tf.dispose([w, g]);
  return n / Math.max(best, 1e-6);
}

/**
 * Measures the matmul rate at each hidden size, the cost of a small kernel call and the copy
 * bandwidth on `backend` (started here if it is not the current one), in a few seconds, and
 * keeps them under `key` for later plans on this machine.
 */
export async function measureRates(
  key: string,
  backend: string,
  graphBackend: unknown,
  hidden: readonly number[],
): Promise<MachineRates> {
  if (tf.getBackend() !== backend)
    await initBackend({ ...resolveBackendOptions(graphBackend), name: backend as never });
  const previous = readAll()[key];
  const keep = previous?.convertBytesPerSecond && !staleBecause(previous);
  const matmul: Record<string, number> = { ...(keep ? previous.matmul : {}) };
  for (const h of hidden) {
    if (matmul[h]) continue;
    const a = tf.randomNormal([512, h]);
    const b = tf.randomNormal([h, 3 * h]);
    const seconds = await timeCall(() => tf.matMul(a, b), 0.4);
    matmul[h] = (2 * 512 * h * 3 * h) / seconds;
    a.dispose();
    b.dispose();
  }
  const x = tf.ones([64]);
  // A chain of 20 small ops per timed call, so the read back does not dominate.
  const chain = await timeCall(
    () => tf.tidy(() => Array.from({ length: 20 }).reduce<tf.Tensor>((y) => tf.add(y, x), x)),
    0.3,
  );
  x.dispose();
  const big = new Float32Array(16 * 2 ** 20);
  const copy = new Float32Array(big.length);
  let copySeconds = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    copy.set(big);
    copySeconds = Math.min(copySeconds, (performance.now() - t0) / 1000);
  }
  const bf16 = Buffer.alloc(32 * 2 ** 20, 0x3f);
  let convertSeconds = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    toFloat32(bf16, 'BF16', 'rate');
    convertSeconds = Math.min(convertSeconds, (performance.now() - t0) / 1000);
  }
  const rates: MachineRates = {
    updateValuesPerSecond: await updateRate(),
    key,
    matmul,
    precision: activePrecision()?.used ?? 'f32',
    callSeconds: chain / 20,
    copyBytesPerSecond: (2 * big.byteLength) / Math.max(copySeconds, 1e-6),
    convertBytesPerSecond: bf16.byteLength / Math.max(convertSeconds, 1e-6),
    measuredAt: new Date().toISOString(),
    loadPerCore: loadPerCore(),
  };
  mkdirSync(dirname(ratesFile()), { recursive: true });
  writeFileAtomic(ratesFile(), JSON.stringify({ ...readAll(), [key]: rates }, null, 2) + '\n');
  return rates;
}
