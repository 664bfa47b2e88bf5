import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { LOCK_FILE } from '../runtime/run-lock.js';
import { writeFileAtomic } from '../services/artifact-store.js';
import { pidAlive } from '../services/leftovers.js';
import { readJsonObject } from '../services/output-guard.js';
import type { SweepPlan, SweepPoint } from './sweep-file.js';
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
  const run = readJsonObject(join(runDir, 'run.json'));
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
 * Creates the sweep directory or checks that it holds this sweep (to continue it): a directory
 * holding another sweep, or files that are not a sweep's, is refused before anything is written.
 */
export function openSweepDir(plan: SweepPlan, dir: string): void {
  const abs = resolve(dir);
  if (existsSync(abs) && !statSync(abs).isDirectory())
    throw new UserError(`--out ${dir} is a file; give a directory for the sweep`);
  const before = readJsonObject(join(abs, SWEEP_JSON));
  if (before) {
    if (before.id !== plan.id) {
      throw new UserError(
        `${dir} holds another sweep (${String(before.sweepFile)}, id ${String(before.id)}; this one is ` +
          `${plan.id}): its grid, sets, seeds or graph differ; choose another --out, or delete ${dir} to start over`,
      );
    }
    return;
  }
  if (existsSync(abs) && readdirSync(abs).some((name) => name !== SWEEP_LOCK)) {
    throw new UserError(
      `--out ${dir} is not empty and holds no sweep (no ${SWEEP_JSON}); choose a new or empty directory`,
    );
  }
  mkdirSync(abs, { recursive: true });
}

/** What sweep.json records of the plan: enough to recompute the state without the sweep file. */
export type SweepBase = Pick<SweepState, 'id' | 'sweepFile' | 'graph' | 'swept' | 'cache'> & {
  points: (Pick<PointState, 'id' | 'dir' | 'settings' | 'seed' | 'sets'> & { graph?: string })[];
};

export function planBase(plan: SweepPlan, dir: string): SweepBase {
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
    })),
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
  };
  writeFileAtomic(join(abs, SWEEP_JSON), JSON.stringify(state, null, 2) + '\n');
  return state;
}

/** Reads sweep.json of a sweep directory (for --status and compare). */
export function readSweepState(dir: string): SweepState {
  const state = readJsonObject(join(resolve(dir), SWEEP_JSON));
  if (state?.kind !== 'SweepState' || !Array.isArray(state.points)) {
    throw new UserError(
      `${dir} is not a sweep directory (no readable ${SWEEP_JSON}); give the --out of an earlier e3 sweep`,
    );
  }
  return state as unknown as SweepState;
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
