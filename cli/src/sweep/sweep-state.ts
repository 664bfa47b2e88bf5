import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { displayPath, GraphError, LOCK_FILE, pidAlive, readJsonObject, UserError, writeFileAtomic } from '@e3/core';
import { diffPaths, formatDiff, type PointContent } from './point-content.js';
import { readRecordedJson, RUN_JSON_SCHEMA, runJsonFix } from './recorded-json.js';
import type { SweepPlan, SweepPoint } from './sweep-file.js';
import { SWEEP_STATE_SCHEMA } from './sweep-state-schema.js';
import { SWEEP_LOCK } from './sweep-lock.js';

export const SWEEP_JSON = 'sweep.json';

/**
 * A point's state, read from its run directory (the run directories are the truth; sweep.json
 * is a summary rewritten from them): `stopped` is a run whose process died (it resumes).
 */
export type PointStatus = 'pending' | 'running' | 'stopped' | 'succeeded' | 'failed' | 'cancelled';

export interface PointState {
  readonly id: string;
  /** Run directory, relative to the sweep directory. */
  readonly dir: string;
  readonly settings: Record<string, unknown>;
  readonly seed: number;
  readonly sets: string[];
  /** Its graph file (the sweep's, or its overlay's own). */
  readonly graph: string;
  readonly status: PointStatus;
  /** How many times a run was started in its directory (a resumed run counts its attempts). */
  readonly attempts: number;
  readonly wallSeconds?: number;
  readonly error?: string;
  /** Hash of what the point runs apart from its seed (its resolved graph; see point-content.ts). */
  readonly content?: string;
}

export interface SweepState {
  readonly kind: 'SweepState';
  readonly id: string;
  readonly sweepFile: string;
  readonly graph: string;
  readonly swept: string[];
  /** Absolute node cache directory. */
  readonly cache: string;
  readonly updatedAt: string;
  readonly counts: Record<PointStatus, number>;
  readonly points: PointState[];
  /** Each distinct resolved graph of the points, by content hash (to name what changed on a rerun). */
  readonly graphs?: Record<string, Record<string, unknown>>;
}

/** Run directory of a point, relative to the sweep directory. */
export function pointDir(point: SweepPoint): string {
  return join('runs', point.id);
}

/** The node cache of a sweep: the file's `cache` (relative to the sweep directory) or `<sweep>/cache`. */
export function sweepCacheDir(plan: SweepPlan, dir: string): string {
  return plan.cache ? (isAbsolute(plan.cache) ? plan.cache : resolve(dir, plan.cache)) : join(resolve(dir), 'cache');
}

/** A point's status from its run directory's run.json and run.lock. */
export function readPointStatus(runDir: string): {
  status: PointStatus;
  attempts: number;
  wallSeconds?: number;
  error?: string;
} {
  const run = readRecordedJson(join(runDir, 'run.json'), RUN_JSON_SCHEMA, runJsonFix(runDir));
  if (!run) return { status: lockAlive(runDir) ? 'running' : 'pending', attempts: 0 };
  const attempts = Number(run.attempt ?? 1);
  const extra = {
    attempts,
    wallSeconds: run.wallSeconds as number | undefined,
    error: run.error as string | undefined,
  };
  const status = String(run.status);
  if (status === 'succeeded' || status === 'failed' || status === 'cancelled') return { status, ...extra };
  return { status: lockAlive(runDir) ? 'running' : 'stopped', ...extra };
}

/** Whether a run directory's run.lock names a live process (or one on another host). */
function lockAlive(runDir: string): boolean {
  const lock = readJsonObject(join(runDir, LOCK_FILE));
  return Boolean(lock && (lock.host !== hostname() || pidAlive(Number(lock.pid))));
}

/**
 * Why `dir` cannot hold this sweep, or undefined when it can: it is missing or empty, or it holds
 * this sweep with every point still resolving to what it recorded. A directory holding another
 * sweep, files that are not a sweep's, or this sweep after its graph (or an overlay) changed, is
 * refused before anything is written.
 */
function sweepDirProblem(plan: SweepPlan, dir: string, content: ReadonlyMap<SweepPoint, PointContent>) {
  const abs = resolve(dir);
  if (existsSync(abs) && !statSync(abs).isDirectory()) return `--out ${dir} is a file; give a directory for the sweep`;
  const before = readSweepJson(abs);
  if (before) {
    if (before.id !== plan.id) {
      return (
        `${dir} holds another sweep (${String(before.sweepFile)}, id ${String(before.id)}; this one is ` +
        `${plan.id}): its grid, sets, seeds or graph differ`
      );
    }
    return changedContent(plan, dir, before, content);
  }
  if (existsSync(abs) && readdirSync(abs).some((name) => name !== SWEEP_LOCK))
    return `--out ${dir} is not empty and holds no sweep (no ${SWEEP_JSON})`;
  return undefined;
}

/** The points whose resolved graph differs from what sweep.json recorded, and how (first point's keys). */
function changedContent(
  plan: SweepPlan,
  dir: string,
  before: SweepState,
  content: ReadonlyMap<SweepPoint, PointContent>,
): string | undefined {
  const recorded = new Map(before.points.map((p) => [p.id, p.content]));
  const changed = plan.points.filter((p) => {
    const was = recorded.get(p.id);
    return was !== undefined && content.get(p) !== undefined && was !== content.get(p)!.hash;
  });
  if (!changed.length) return undefined;
  const first = changed[0];
  const was = before.graphs?.[recorded.get(first.id)!];
  const diff = was ? formatDiff(diffPaths(was, content.get(first)!.spec)) : 'its recorded graph is not in sweep.json';
  return (
    `${dir} holds this sweep, but what ${changed.length} of its ${plan.points.length} points run has changed ` +
    `since it started (the graph, an overlay's graph or a value changed): ${changed
      .slice(0, 4)
      .map((p) => p.id)
      .join(', ')}${changed.length > 4 ? ', …' : ''}; ${first.id}: ${diff}. ` +
    'Continuing would mix two experiments in one table'
  );
}

/**
 * Creates the sweep directory or checks that it holds this sweep (to continue it); returns the
 * directory used. With `forceNew`, a directory that cannot hold it is left alone and the sweep
 * goes to the first of DIR-2, DIR-3, … that can (continuing one an earlier --force-new started).
 */
export function openSweepDir(
  plan: SweepPlan,
  dir: string,
  content: ReadonlyMap<SweepPoint, PointContent> = new Map(),
  forceNew = false,
): string {
  const problem = sweepDirProblem(plan, dir, content);
  if (!problem) {
    mkdirSync(resolve(dir), { recursive: true });
    return dir;
  }
  if (!forceNew) {
    throw new UserError(
      `${problem}; run with --force-new to start a new sweep directory beside it, choose another --out, ` +
        `or delete ${dir} to start over`,
    );
  }
  for (let n = 2; ; n++) {
    const next = `${dir.replace(/[/\\]+$/, '')}-${n}`;
    if (sweepDirProblem(plan, next, content)) continue;
    mkdirSync(resolve(next), { recursive: true });
    return next;
  }
}

/** What sweep.json records of the plan: enough to recompute the state without the sweep file. */
export type SweepBase = Pick<SweepState, 'id' | 'sweepFile' | 'graph' | 'swept' | 'cache' | 'graphs'> & {
  points: (Pick<PointState, 'id' | 'dir' | 'settings' | 'seed' | 'sets' | 'content'> & { graph?: string })[];
};

export function planBase(
  plan: SweepPlan,
  dir: string,
  content: ReadonlyMap<SweepPoint, PointContent> = new Map(),
): SweepBase {
  const graphs = Object.fromEntries([...content.values()].map((c) => [c.hash, c.spec]));
  return {
    id: plan.id,
    sweepFile: plan.file,
    graph: plan.graph,
    swept: plan.swept,
    cache: sweepCacheDir(plan, dir),
    points: plan.points.map((p) => ({
      id: p.id,
      dir: pointDir(p),
      settings: p.settings,
      seed: p.seed,
      sets: p.sets,
      graph: p.graph,
      content: content.get(p)?.hash,
    })),
    ...(content.size ? { graphs } : {}),
  };
}

/** Reads every point's run directory and rewrites sweep.json; returns the state. */
export function refreshSweepState(base: SweepBase, dir: string): SweepState {
  const abs = resolve(dir);
  const points: PointState[] = base.points.map((p) => ({
    id: p.id,
    dir: p.dir,
    settings: p.settings,
    seed: p.seed,
    sets: p.sets,
    graph: p.graph ?? base.graph,
    ...readPointStatus(join(abs, p.dir)),
    ...(p.content ? { content: p.content } : {}),
  }));
  const counts = { pending: 0, running: 0, stopped: 0, succeeded: 0, failed: 0, cancelled: 0 };
  for (const p of points) counts[p.status]++;
  const state: SweepState = {
    kind: 'SweepState',
    id: base.id,
    sweepFile: base.sweepFile,
    graph: base.graph,
    swept: base.swept,
    cache: base.cache,
    updatedAt: new Date().toISOString(),
    counts,
    points,
    ...(base.graphs ? { graphs: base.graphs } : {}),
  };
  writeFileAtomic(join(abs, SWEEP_JSON), JSON.stringify(state, null, 2) + '\n');
  return state;
}

/** sweep.json of a sweep directory, checked (a located error when malformed), or undefined when absent. */
function readSweepJson(dir: string): SweepState | undefined {
  const fix =
    'e3 sweep writes this file and rewrites it from the run directories; restore it from a copy, or start ' +
    'the sweep again in a new directory (e3 sweep FILE --out NEW)';
  const state = readRecordedJson(join(dir, SWEEP_JSON), SWEEP_STATE_SCHEMA, fix) as SweepState | undefined;
  const outside = state?.points.findIndex((p) => isAbsolute(p.dir) || p.dir.split(/[/\\]/).includes('..')) ?? -1;
  if (state && outside >= 0) {
    const file = displayPath(join(dir, SWEEP_JSON));
    const message = `"${state.points[outside].dir}" is not inside the sweep directory (runs/<point> is)`;
    throw new GraphError([{ file, field: `points.${outside}.dir`, message, fix }], file);
  }
  return state;
}

/** Reads sweep.json of a sweep directory (for --status and compare). */
export function readSweepState(dir: string): SweepState {
  const state = readSweepJson(resolve(dir));
  if (!state) {
    throw new UserError(`${dir} is not a sweep directory (no ${SWEEP_JSON}); give the --out of an earlier e3 sweep`);
  }
  return state;
}

/** `e3 sweep --status`: one line per point and the counts. */
export function formatSweepStatus(state: SweepState): string {
  const width = Math.max(...state.points.map((p) => p.id.length), 5);
  const rows = state.points.map(
    (p) =>
      `${p.id.padEnd(width)}  ${p.status.padEnd(9)}  ${String(p.attempts).padStart(8)}` +
      `  ${p.wallSeconds === undefined ? '' : `${p.wallSeconds.toFixed(1)} s`}${p.error ? `  ${p.error}` : ''}`,
  );
  const counts = Object.entries(state.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  return [
    `${'point'.padEnd(width)}  status     attempts  wall`,
    ...rows,
    '',
    `${state.points.length} points: ${counts}`,
  ].join('\n');
}
