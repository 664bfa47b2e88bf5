import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SweepBase } from './sweep-state.js';

/** Everything a worker needs to run one point (BullMQ job data; plain JSON). */
export interface PointJob {
  readonly sweepId: string;
  readonly point: string;
  /** The point's run directory relative to the storage root (the sweep directory). */
  readonly dir: string;
  readonly graph: string;
  readonly sets: string[];
  readonly seed: number;
  /** The sweep's node cache (absolute; a worker with --workdir uses its own). */
  readonly cache: string;
  /** The sweep directory as a storage URL (file://…). */
  readonly storage: string;
}

export function pointJobs(base: SweepBase, storage: string): PointJob[] {
  return base.points.map((p) => ({
    sweepId: base.id,
    point: p.id,
    dir: p.dir,
    graph: p.graph ?? base.graph,
    sets: p.sets,
    seed: p.seed,
    cache: base.cache,
    storage,
  }));
}

/**
 * What running a point asks of `e3 run`: its graph, --set values and seed, the node cache, quietly,
 * in `out`, or, when that directory holds a run already, resumed there (`resume`). `e3 worker` runs
 * it in its own process (the run command's function); the local runner as an `e3 run` child (runArgs).
 */
export interface PointRun {
  readonly graph: string;
  readonly set: readonly string[];
  readonly seed: number;
  readonly cache: string;
  readonly quiet: true;
  readonly out?: string;
  readonly resume?: string;
}

/** The run of `job`'s point in `runDir`, with the node cache `cacheDir`. */
export function pointRun(job: PointJob, runDir: string, cacheDir: string): PointRun {
  const where = existsSync(join(runDir, 'run.json')) ? { resume: runDir } : { out: runDir };
  return { graph: job.graph, set: job.sets, seed: job.seed, cache: cacheDir, quiet: true, ...where };
}

/** `e3 run` arguments for a point's run (for a child process). */
export function runArgs(run: PointRun): string[] {
  const where = run.resume !== undefined ? ['--resume', run.resume] : ['--out', run.out!];
  return [
    'run',
    run.graph,
    ...run.set.flatMap((s) => ['--set', s]),
    '--seed',
    String(run.seed),
    '--cache',
    run.cache,
    '--quiet',
    ...where,
  ];
}
