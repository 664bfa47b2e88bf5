import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { CancelledError, UserError } from '../errors.js';
import { ARTIFACTS, BACKEND, CLOCK, LOGGER, PROGRESS, RNG, RUN_INFO } from '../registry/tokens.js';
import { ArtifactStore } from '../services/artifact-store.js';
import { initBackend, type BackendName } from '../services/backend.js';
import { Clock } from '../services/clock.js';
import { Logger, type LogLevel } from '../services/logger.js';
import { Progress } from '../services/progress.js';
import { Rng } from '../services/rng.js';
import { execute, type ExecuteResult } from './executor.js';
import { prepareGraph, type PrepareOptions } from './prepare.js';
import type { RunInfo } from './run-info.js';

export interface RunOptions extends PrepareOptions {
  /** Run directory; default `runs/<graph name>-<timestamp>`. */
  readonly outDir?: string;
  /** Continue the run in this directory (nodes that checkpoint pick up where they stopped). */
  readonly resumeDir?: string;
  readonly seed?: number;
  readonly signal?: AbortSignal;
  readonly logLevel?: LogLevel;
  readonly quiet?: boolean;
  readonly logSink?: (line: string) => void;
}

export interface RunOutcome extends ExecuteResult {
  readonly runDir: string;
}

/** The first path where two plain values differ, or undefined when they are equal. */
function firstDifference(a: unknown, b: unknown, at: string[]): string | undefined {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return a === b ? undefined : at.join('.') || '(root)';
  if (Array.isArray(a) !== Array.isArray(b)) return at.join('.') || '(root)';
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], [...at, k]);
    if (d) return d;
  }
  return undefined;
}

const PACKAGE_VERSION: string = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;

/**
 * Validates, then runs a graph in its run directory, writing `resolved.yaml` first and
 * `run.json` (status, timings, versions, seed, backend) at the end, whatever the outcome.
 */
export async function runGraph(file: string, options: RunOptions): Promise<RunOutcome> {
  const prepared = await prepareGraph(file, options);
  const { graph, registry, container } = prepared;
  const spec = graph.spec;
  if (options.seed !== undefined) spec.seed = options.seed;
  const seed = spec.seed ?? 0;

  let runDir: string;
  if (options.resumeDir) {
    runDir = resolve(options.resumeDir);
    const previous = join(runDir, 'resolved.yaml');
    if (!existsSync(previous)) throw new UserError(`--resume ${options.resumeDir}: not a run directory (no resolved.yaml)`);
    const changed = firstDifference(parse(readFileSync(previous, 'utf8')), JSON.parse(JSON.stringify(spec)), []);
    if (changed) throw new UserError(`--resume ${options.resumeDir}: the graph differs from the one this run started with, at "${changed}"; resume with the same graph and --set values (see ${previous}), or start a new run`);
  } else {
    runDir = resolve(options.outDir ?? join('runs', `${basename(file).replace(/\.ya?ml$/, '')}-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  }
  const store = new ArtifactStore(runDir);
  const logger = new Logger(options.logLevel ?? 'info', 'e3', options.logSink);
  logger.toFile(store.path('run.log'));
  store.writeText('resolved.yaml', stringify(spec));

  const clock = new Clock();
  const t0 = clock.now();
  const runJson: Record<string, unknown> = {
    status: 'running', graph: resolve(file), startedAt: clock.iso(), seed, resumed: Boolean(options.resumeDir),
    versions: { e3: PACKAGE_VERSION, node: process.version },
  };
  store.writeJson('run.json', runJson);
  try {
    const backend = await initBackend((spec.backend ?? 'auto') as BackendName, logger);
    Object.assign(runJson, { backend: backend.name, backendReason: backend.reason, versions: { ...(runJson.versions as object), tfjs: backend.tf.version_core } });
    const info: RunInfo = { runDir, graphFile: resolve(file), seed, resume: Boolean(options.resumeDir) };
    container.bind(RNG).toConstantValue(new Rng(seed));
    container.bind(LOGGER).toConstantValue(logger);
    container.bind(PROGRESS).toConstantValue(new Progress(process.stderr, options.quiet));
    container.bind(ARTIFACTS).toConstantValue(store);
    container.bind(CLOCK).toConstantValue(clock);
    container.bind(BACKEND).toConstantValue(backend);
    container.bind(RUN_INFO).toConstantValue(info);
    logger.info(`run ${runDir} (seed ${seed}, ${graph.order.length} nodes)`);
    const result = await execute(graph, registry, container, { signal: options.signal, logger });
    Object.assign(runJson, { status: 'succeeded', timings: result.timings });
    return { ...result, runDir };
  } catch (e) {
    Object.assign(runJson, { status: e instanceof CancelledError ? 'cancelled' : 'failed', error: e instanceof Error ? e.message : String(e) });
    throw e;
  } finally {
    Object.assign(runJson, { finishedAt: clock.iso(), wallSeconds: (clock.now() - t0) / 1000 });
    store.writeJson('run.json', runJson);
  }
}
