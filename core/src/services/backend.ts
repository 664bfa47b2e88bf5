import { existsSync, readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import type { Logger } from './logger.js';
import {
  activePrecision,
  choosePrecision,
  enableNativeKernels,
  loadAddon,
  resolveNativeOptions,
  type NativeOptions,
} from '@e3/native';
import { registerCpuKernels } from './cpu-kernels.js';
import { registerMissingWasmKernels, replaceCpuSegmentSum } from './wasm-kernels.js';

export const BACKEND_NAMES = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** A graph's `backend:` in full: the backend and the options of the native CPU kernels. */
export interface BackendOptions extends NativeOptions {
  name: BackendName;
}

/**
 * The graph's `backend:` (a name or `{ name, native, fused, threads }`) as full options, with the
 * E3_NATIVE_BLAS / E3_FUSED / E3_THREADS overrides applied: what resolved.yaml records.
 */
export function resolveBackendOptions(value: unknown): BackendOptions {
  const given = (value && typeof value === 'object' ? value : { name: value ?? 'auto' }) as Partial<BackendOptions>;
  const { name, ...native } = given;
  try {
    return { name: (name ?? 'auto') as BackendName, ...resolveNativeOptions(native).options };
  } catch (e) {
    // A malformed E3_* variable (resolveNativeOptions names it and what it expects).
    throw new UserError(`${(e as Error).message} (fix: set it to one of those values, or unset it)`);
  }
}

/**
 * What the native kernels' products will run in under `options`, and why (for resolved.yaml, before
 * the backend starts): the choice enableNativeKernels makes on wasm and cpu.
 */
export function precisionNote(options: NativeOptions): string {
  return choosePrecision(options.precision, options.native ? loadAddon() : undefined).why;
}

/** The backend a run computes on, and why it was chosen (written to the run log and run.json). */
export interface TensorBackend {
  readonly name: Exclude<BackendName, 'auto'>;
  readonly reason: string;
  readonly tf: typeof tf;
  /** The native kernels' options in force (meaningful on wasm and cpu). */
  readonly native: NativeOptions;
}

type Attempt = (native: Partial<NativeOptions>) => Promise<string | undefined>;

/** Each loader returns a note on success, or throws with the reason it is unavailable. */
const loaders: Record<Exclude<BackendName, 'auto'>, Attempt> = {
  tensorflow: async () => {
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        await import(pkg);
        await setBackend('tensorflow');
        return pkg;
      } catch {
        /* try the next */
      }
    }
    throw new Error(
      'neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed (optional: their install downloads libtensorflow from outside the npm registry)',
    );
  },
  webgpu: async () => {
    const { setupWebgpu } = await import('../webgpu/setup-webgpu.js');
    return setupWebgpu();
  },
  wasm: async (native) => {
    await import('@tensorflow/tfjs-backend-wasm');
    const added = registerMissingWasmKernels();
    await setBackend('wasm');
    // After setBackend: the original kernel's one-time setup has run, so it stays usable as the fallback.
    const { note } = enableNativeKernels('wasm', native);
    return [added.length ? `registered missing kernels: ${added.join(', ')}` : '', note].filter(Boolean).join('; ');
  },
  cpu: async (native) => {
    await import('@tensorflow/tfjs-backend-cpu');
    await setBackend('cpu');
    // The cpu backend prints a banner on first use in Node recommending tfjs-node; the run log already says why it was chosen.
    (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
    replaceCpuSegmentSum();
    registerCpuKernels();
    return `host memory; ${enableNativeKernels('cpu', native).note}`;
  },
};

/**
 * tfjs-core's Node bundle ships no gradient functions (its `register_all_gradients` module
 * is ESM without file extensions, which Node cannot import); the `@tensorflow/tfjs` Node
 * bundle registers them all on the same tfjs-core instance.
 */
async function registerGradients(): Promise<void> {
  if (tf.getGradient('Add')) return;
  const quiet = console.warn;
  console.warn = () => undefined;
  try {
    await import('@tensorflow/tfjs');
  } finally {
    console.warn = quiet;
  }
  if (!tf.getGradient('Add'))
    throw new UserError(
      'gradients did not register: @tensorflow/tfjs and @tensorflow/tfjs-core versions differ; run npm ci',
    );
}

/** A cheap look for a GPU before loading Dawn (which costs start-up time and prints warnings). */
function hasGpuDeviceNode(): boolean {
  try {
    return (
      readdirSync('/dev').some((f) => /^nvidia\d/.test(f)) ||
      (existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD')))
    );
  } catch {
    return false;
  }
}

async function setBackend(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
}

/**
 * Why a backend cannot hold the graph (e.g. the memory plan's refusal), or undefined when it can:
 * `auto` skips the backends it refuses.
 */
export type BackendFit = (name: Exclude<BackendName, 'auto'>) => Promise<string | undefined>;

/**
 * Selects and initialises a TensorFlow.js backend. `auto` tries tensorflow (tfjs-node-gpu,
 * then tfjs-node), then wasm, then cpu, skipping those that `fits` says cannot hold the graph
 * (unless none can: then the first available one starts, and the run's pre-flight refuses it with
 * the full reasons), and says which one ran and why the others did not.
 */
export async function initBackend(
  backend: BackendName | Partial<BackendOptions>,
  logger?: Logger,
  fits?: BackendFit,
): Promise<TensorBackend> {
  const { name: requested, ...native } = resolveBackendOptions(backend);
  for (const override of resolveNativeOptions({}).overrides) logger?.debug(`backend option: ${override}`);
  if (!BACKEND_NAMES.includes(requested)) {
    throw new UserError(`unknown backend "${String(requested)}" (fix: use one of ${BACKEND_NAMES.join(', ')})`);
  }
  await registerGradients();
  const order: Exclude<BackendName, 'auto'>[] =
    requested === 'auto' ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : [requested];
  const skipped: string[] = [];
  if (requested === 'auto') {
    // auto takes webgpu only on a hardware GPU: on a software device (lavapipe) wasm is faster.
    const adapter = !hasGpuDeviceNode()
      ? { description: 'no GPU device node (/dev/nvidia*, /dev/dri/renderD*)', hardware: false }
      : await import('../webgpu/setup-webgpu.js')
          .then((m) => m.describeAdapter())
          .catch((e: Error) => ({ description: e.message.split('\n')[0], hardware: false }));
    if (!adapter.hardware) {
      order.splice(order.indexOf('webgpu'), 1);
      skipped.push(`webgpu skipped (${adapter.description}; auto takes it only on a hardware GPU)`);
    }
  }
  const refused: string[] = [];
  let fallback: { name: Exclude<BackendName, 'auto'>; note?: string } | undefined;
  const started = (name: Exclude<BackendName, 'auto'>, note: string | undefined): TensorBackend => {
    const reason =
      requested === 'auto'
        ? `auto: ${[...skipped, ...refused].map((x) => x + '; ').join('')}chose ${name}${note ? ` (${note})` : ''}`
        : `requested ${name}${note ? ` (${note})` : ''}`;
    const auto = refused.length ? ` (auto; ${refused.join('; ')})` : requested === 'auto' ? ' (auto)' : '';
    logger?.info(`backend ${name}${auto}`);
    const precision =
      name === 'wasm' || name === 'cpu' ? activePrecision()?.why : `f32: ${name} computes its own products`;
    logger?.info(`precision ${native.precision} → ${precision ?? 'f32'}`);
    logger?.debug(`backend ${name}: ${reason}`); // every level reaches run.log
    return { name, reason, tf, native };
  };
  for (const name of order) {
    let note: string | undefined;
    try {
      note = await loaders[name](native);
    } catch (e) {
      skipped.push(`${name} unavailable: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      continue;
    }
    // auto: a backend that started but cannot hold the graph (the plan says why) is passed over.
    const why = requested === 'auto' && fits ? await fits(name) : undefined;
    if (why === undefined) return started(name, note);
    refused.push(`${name} cannot hold the graph: ${why}`);
    fallback ??= { name, note };
  }
  if (fallback) {
    // None holds it: the first that started runs, and the run's pre-flight refuses it with every reason.
    await setBackend(fallback.name);
    return started(fallback.name, fallback.note);
  }
  throw new UserError(
    `backend "${requested}" could not start: ${skipped.join('; ')}. Use backend: cpu (always available) or wasm.`,
  );
}
