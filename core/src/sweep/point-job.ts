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

/** `e3 run` arguments that run (or, when its directory holds a run already, resume) a point in `runDir`. */
export function runArgs(job: PointJob, runDir: string, cacheDir: string): string[] {
  const where = existsSync(join(runDir, 'run.json')) ? ['--resume', runDir] : ['--out', runDir];
  return [
    'run',
    job.graph,
    ...job.sets.flatMap((s) => ['--set', s]),
    '--seed',
    String(job.seed),
    '--cache',
    cacheDir,
    '--quiet',
    ...where,
  ];
}
