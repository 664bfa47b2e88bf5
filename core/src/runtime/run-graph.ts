import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { NodeCache } from '../cache/node-cache.js';
import { NodeReuse } from './node-reuse.js';
import { cacheKeys } from './cache-keys.js';
import { FileHasher, FILE_HASHES } from '../cache/file-hashes.js';
import { CancelledError, formatDiagnostic, NodeError, stopSignal, UserError } from '../errors.js';
import { ARTIFACTS, BACKEND, CLOCK, LOGGER, PROGRESS, RNG, RUN_INFO } from '../registry/tokens.js';
import { ArtifactStore } from '../services/artifact-store.js';
import { isE3RunDir, readJsonObject } from '../services/output-guard.js';
import { initBackend, resolveBackendOptions, type TensorBackend } from '../services/backend.js';
import { resolvedYaml } from './resolved-yaml.js';
import { Clock } from '../services/clock.js';
import { Logger, type LogLevel } from '../services/logger.js';
import { Progress, type ProgressMode } from '../services/progress.js';
import { Rng } from '../services/rng.js';
import { bindRunRefs } from '../graph/interpolate.js';
import type { GraphSpec } from '../graph/spec.js';
import { execute, type ExecuteResult } from './executor.js';
import { nodeKeys, reconcileNodeState } from './node-keys.js';
import { prepareGraph, type PreparedGraph, type PrepareOptions } from './prepare.js';
import { logTimes, timeTable } from './time-report.js';
import { preflightRefusal, refuseOnProblems, runPreflights } from './preflight.js';
import { applyParamChoices } from './param-choices.js';
import { acquireRunLock, LOCK_FILE } from './run-lock.js';
import { DEFAULT_STALL_SECONDS } from './stall-watch.js';
import type { RunInfo } from './run-info.js';

export interface RunOptions extends PrepareOptions {
  /** Run directory; default `runs/<graph name>-<timestamp>`. */
  readonly outDir?: string;
  /** Continue the run in this directory (nodes that checkpoint pick up where they stopped). */
  readonly resumeDir?: string;
  readonly seed?: number;
  readonly signal?: AbortSignal;
  readonly logLevel?: LogLevel;
  /** No progress output, and only warnings and errors on stderr (run.log keeps everything). */
  readonly quiet?: boolean;
  /** How progress is shown (default auto: bars on a terminal, a plain line every `progressEvery` s otherwise). */
  readonly progress?: ProgressMode;
  readonly progressEvery?: number;
  readonly logSink?: (line: string) => void;
  /** Node cache directory: deterministic nodes are reused from it and stored in it (see cache/node-cache.ts). */
  readonly cacheDir?: string;
}

export interface RunOutcome extends ExecuteResult {
  readonly runDir: string;
  /** What run.json holds at the end (status, timings, versions, seed, backend). */
  readonly summary: Record<string, unknown>;
}

/** e3's version, from the repository's package.json. */
export const PACKAGE_VERSION: string = JSON.parse(
  readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
).version;

/**
 * Validates, then runs a graph in its run directory, writing `resolved.yaml` first and
 * `run.json` (status, timings, versions, seed, backend) at the end, whatever the outcome.
 */
export async function runGraph(file: string, options: RunOptions): Promise<RunOutcome> {
  const prepared = await prepareGraph(file, options);
  const { graph } = prepared;
  const spec = graph.spec;
  if (options.seed !== undefined) spec.seed = options.seed;
  const seed = spec.seed ?? 0;

  const runDir = chooseRunDir(file, options);
  bindRunSpec(spec, runDir);
  const store = new ArtifactStore(runDir);
  const progressMode = options.quiet ? 'none' : (options.progress ?? 'auto');
  const progress = new Progress(process.stderr, progressMode, options.progressEvery);
  const logLevel = options.logLevel ?? (options.quiet ? 'warn' : 'info');
  const logger = new Logger(logLevel, 'e3', options.logSink ?? ((line) => progress.log(line)));
  let stale: string | undefined; // logged once the log file is open, so that run.log records the takeover
  const lock = acquireRunLock(runDir, (o) => {
    stale =
      `took over a stale lock of run directory ${runDir}` +
      (o ? ` (pid ${o.pid}, started ${o.startedAt}, is no longer running)` : '');
  });
  try {
    logger.toFile(store.path('run.log'));
    if (stale) logger.warn(stale);
    spec.backend = { ...resolveBackendOptions(spec.backend) };
    store.writeText('resolved.yaml', resolvedYaml(spec));
    const keys = nodeKeys(graph, PACKAGE_VERSION);
    reconcileNodeState(store, keys, logger);
    const reuse = options.cacheDir ? nodeReuse(options.cacheDir, prepared, logger, runDir) : undefined;
    return await runLocked({ file, spec, seed, prepared, store, logger, progress, options, reuse });
  } finally {
    lock.release();
  }
}

/** The run's use of the node cache in `dir`, keyed by content (cache-keys.ts; file hashes memoised there). */
function nodeReuse(dir: string, prepared: PreparedGraph, logger: Logger, runDir: string): NodeReuse {
  const cache = new NodeCache(dir);
  const hasher = new FileHasher(join(cache.dir, FILE_HASHES), (line) => logger.info(line));
  const { keys, content } = cacheKeys(prepared, hasher, PACKAGE_VERSION);
  return new NodeReuse(cache, { keys, log: logger, runDir, version: PACKAGE_VERSION, content });
}

/** `--resume DIR` must be a run directory; a new `--out` must be missing, empty or a run directory. */
function chooseRunDir(file: string, options: RunOptions): string {
  if (options.resumeDir) {
    if (options.outDir && resolve(options.outDir) !== resolve(options.resumeDir)) {
      throw new UserError('--resume continues a run in its own directory; give --resume DIR or --out DIR, not both');
    }
    const dir = resolve(options.resumeDir);
    if (!isE3RunDir(dir)) {
      throw new UserError(
        `--resume ${options.resumeDir}: not a run directory (no run.json written by e3); ` +
          'give the directory an earlier `e3 run` printed',
      );
    }
    return dir;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = resolve(options.outDir ?? join('runs', `${basename(file).replace(/\.ya?ml$/, '')}-${stamp}`));
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new UserError(`--out ${dir} is a file; give a directory for the run`);
  }
  if (existsSync(dir) && readdirSync(dir).some((name) => name !== LOCK_FILE) && !isE3RunDir(dir)) {
    throw new UserError(
      `--out ${dir} is not empty and holds no earlier e3 run (no e3 run.json); ` +
        'e3 would mix its files with yours there, so choose a new or empty directory',
    );
  }
  return dir;
}

/** What a run recorded of how it started (run.json), so that `e3 run --resume DIR` needs nothing else. */
export function recordedStart(runDir: string): { graph: string; sets: string[]; plugins: string[]; seed?: number } {
  const file = join(resolve(runDir), 'run.json');
  let run: { graph?: unknown; sets?: unknown; plugins?: unknown; seed?: unknown };
  try {
    run = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new UserError(
      `--resume ${runDir}: cannot read ${file}; give the graph again: e3 run GRAPH --resume ${runDir}`,
    );
  }
  if (typeof run.graph !== 'string' || !Array.isArray(run.sets)) {
    throw new UserError(
      `--resume ${runDir}: ${file} does not record the graph and --set values (an older e3 wrote ` +
        `it); give them again: e3 run GRAPH --set … --resume ${runDir}`,
    );
  }
  const plugins = Array.isArray(run.plugins) ? run.plugins.map(String) : [];
  const seed = typeof run.seed === 'number' ? run.seed : undefined;
  return { graph: run.graph, sets: run.sets.map(String), plugins, seed };
}

/** Binds `${run.dir}` in the graph's nodes now that the run directory is known. */
function bindRunSpec(spec: GraphSpec, runDir: string): void {
  spec.nodes = bindRunRefs(spec.nodes, { dir: runDir }) as GraphSpec['nodes'];
}

/** A run whose directory is locked and whose run.log is open: what runLocked runs. */
interface LockedRun {
  readonly file: string;
  readonly spec: GraphSpec;
  readonly seed: number;
  readonly prepared: PreparedGraph;
  readonly store: ArtifactStore;
  readonly logger: Logger;
  readonly progress: Progress;
  readonly options: RunOptions;
  readonly reuse: NodeReuse | undefined;
}

/** run.json as the run starts: what runs, from where, which attempt. */
function startingRunJson(run: LockedRun, clock: Clock): Record<string, unknown> {
  const { store, options } = run;
  const attempt = Number(readJsonObject(store.path('run.json'))?.attempt ?? 0) + 1;
  return {
    status: 'running',
    graph: resolve(run.file),
    dir: store.dir, // what ${run.dir} was in resolved.yaml (e3 compare reads it back as ${run.dir}: copies compare equal)
    sets: options.sets ?? [],
    plugins: options.pluginPaths ?? [],
    startedAt: clock.iso(),
    seed: run.seed,
    resumed: Boolean(options.resumeDir),
    attempt,
    versions: { e3: PACKAGE_VERSION, node: process.version },
  };
}

/**
 * Starts the graph's backend (recorded in run.json), then runs the pre-flight checks (e.g. the
 * memory plan) on it before any node makes a tensor: refused on a problem, param choices applied.
 */
async function startBackend(run: LockedRun, runJson: Record<string, unknown>) {
  const { prepared, logger } = run;
  const { graph, registry, container } = prepared;
  const backend = await initBackend(resolveBackendOptions(run.spec.backend), logger, (name) =>
    preflightRefusal(container, { graph, loaded: prepared.loaded, backend: name, started: false, registry }),
  );
  Object.assign(runJson, {
    backend: backend.name,
    backendReason: backend.reason,
    versions: { ...(runJson.versions as object), tfjs: backend.tf.version_core },
  });
  const preflight = await runPreflights(container, {
    graph,
    loaded: prepared.loaded,
    backend: backend.name,
    started: true,
    registry,
    purpose: 'run',
  });
  for (const r of preflight) logger.debug(`${r.title}\n${r.text}`);
  for (const d of preflight.flatMap((r) => r.warnings ?? [])) logger.warn(formatDiagnostic(d));
  refuseOnProblems(preflight);
  const chosen = applyParamChoices(preflight, run.spec, run.store, logger);
  if (chosen.length) runJson.params = chosen;
  return { backend, preflight };
}

/** Binds the run's services (RNG, logger, progress, artifacts, clock, backend, run info) for its nodes. */
function bindRunServices(run: LockedRun, backend: TensorBackend, clock: Clock): void {
  const { container } = run.prepared;
  const { options, seed, store } = run;
  const info: RunInfo = { runDir: store.dir, graphFile: resolve(run.file), seed, resume: Boolean(options.resumeDir) };
  container.bind(RNG).toConstantValue(new Rng(seed));
  container.bind(LOGGER).toConstantValue(run.logger);
  container.bind(PROGRESS).toConstantValue(run.progress);
  container.bind(ARTIFACTS).toConstantValue(store);
  container.bind(CLOCK).toConstantValue(clock);
  container.bind(BACKEND).toConstantValue(backend);
  container.bind(RUN_INFO).toConstantValue(info);
}

/**
 * What a run that threw records in run.json (stopped, or failed with its error, logged with the
 * plugin's stack for a node's failure), and the error to throw on.
 */
function runFailure(e: unknown, run: LockedRun, runJson: Record<string, unknown>): unknown {
  if (e instanceof CancelledError) {
    const signal = e.signal ?? stopSignal(run.options.signal);
    Object.assign(runJson, stopped(signal));
    return new CancelledError(
      signal,
      `run stopped${signal ? ` (${signal})` : ''}; continue it with: e3 run --resume ${run.store.dir}`,
    );
  }
  Object.assign(runJson, { status: 'failed', error: e instanceof Error ? e.message : String(e) });
  // The CLI prints the failure; run.log keeps it too (with the plugin's stack, for a node's).
  const stack = e instanceof NodeError && e.cause instanceof Error ? `\n${e.cause.stack}` : '';
  run.logger.record('error', `${e instanceof Error ? e.message : String(e)}${stack}`);
  return e;
}

async function runLocked(run: LockedRun): Promise<RunOutcome> {
  const { spec, prepared, store, logger, progress, options, reuse } = run;
  const { graph, registry, container } = prepared;
  const runDir = store.dir;
  const clock = new Clock();
  const t0 = clock.now();
  const runJson = startingRunJson(run, clock);
  store.writeJson('run.json', runJson);
  // On a stop, run.json says so at once (a second signal exits without waiting for the nodes).
  const onStop = () => {
    const signal = stopSignal(options.signal);
    logger.warn(
      `${signal ?? 'stop'}: stopping the run; nodes save what they can resume from ` +
        `(e3 run --resume ${runDir} continues it); a second SIGINT or SIGTERM exits at once`,
    );
    store.writeJson('run.json', { ...runJson, ...stopped(signal), finishedAt: clock.iso() });
  };
  if (options.signal?.aborted) onStop();
  else options.signal?.addEventListener('abort', onStop, { once: true });
  try {
    const { backend, preflight } = await startBackend(run, runJson);
    bindRunServices(run, backend, clock);
    logger.info(`run ${runDir} (seed ${run.seed}, ${graph.order.length} nodes)`);
    const stall = { seconds: spec.stallSeconds ?? DEFAULT_STALL_SECONDS, activity: () => progress.lastActivityAt };
    const result = await execute(graph, registry, container, { signal: options.signal, logger, reuse, stall });
    const times = timeTable(graph, preflight, result.timings);
    logTimes(times, logger);
    Object.assign(runJson, { status: 'succeeded', timings: result.timings, times });
    return { ...result, runDir, summary: runJson };
  } catch (e) {
    throw runFailure(e, run, runJson);
  } finally {
    options.signal?.removeEventListener('abort', onStop);
    Object.assign(runJson, { finishedAt: clock.iso(), wallSeconds: (clock.now() - t0) / 1000 });
    if (reuse) {
      const { reused, stored, damaged } = reuse;
      Object.assign(runJson, { cache: { dir: reuse.cache.dir, reused, stored, damaged } });
    }
    store.writeJson('run.json', runJson);
  }
}

/** run.json's fields for a stopped run (it resumes with `e3 run --resume`). */
function stopped(signal: string | undefined): Record<string, unknown> {
  return { status: 'stopped', ...(signal ? { signal } : {}) };
}
