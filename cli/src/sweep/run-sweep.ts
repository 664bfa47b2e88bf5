import { resolve } from 'node:path';
import type { ContainerModule } from 'inversify';
import { UserError } from '@e3/core';
import { checkPoints } from './check-points.js';
import { runLocal } from './local-runner.js';
import { pointJobs, type PointJob } from './point-job.js';
import { followPoints } from './follow-queue.js';
import { connectQueue, enqueuePoints } from './queue.js';
import { LocalFsStorage } from './storage.js';
import { loadSweepFile, type SweepOverrides, type SweepPlan } from './sweep-file.js';
import { lockSweepDir } from './sweep-lock.js';
import { openSweepDir, planBase, refreshSweepState, type SweepBase, type SweepState } from './sweep-state.js';

export interface SweepOptions {
  readonly modules: readonly ContainerModule[];
  readonly outDir: string;
  readonly overrides?: SweepOverrides;
  readonly parallel: number;
  /** redis://host:port: points go on the BullMQ queue for `e3 worker`s. */
  readonly queue?: string;
  /** With a queue: return once the points are queued. */
  readonly noWait?: boolean;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
  /** When `outDir` holds another sweep, or this one after what its points run changed: use DIR-2, DIR-3, … */
  readonly forceNew?: boolean;
}

/**
 * `e3 sweep FILE`: checks the sweep file and every point's graph, opens (or continues) the sweep
 * directory, then runs the points that have not succeeded, locally or through the queue.
 */
export async function runSweep(file: string, given: SweepOptions): Promise<SweepState & { dir: string }> {
  const plan = loadSweepFile(file, given.overrides);
  const content = await checkPoints(plan, given.modules);
  // Locked before it is opened: a second sweep of the directory waits here, then continues.
  let lock = await lockSweepDir(given.outDir, given.signal, given.log);
  let outDir: string;
  try {
    outDir = openSweepDir(plan, given.outDir, content, given.forceNew);
  } catch (e) {
    lock?.release();
    throw e;
  }
  if (outDir !== given.outDir) {
    given.log(`--force-new: ${given.outDir} is left as it is; this sweep goes to ${outDir}`);
    lock?.release();
    lock = await lockSweepDir(outDir, given.signal, given.log);
  }
  const o = { ...given, outDir };
  try {
    return await driveSweep(plan, o, content);
  } finally {
    lock?.release();
  }
}

/** Runs the points of a sweep whose directory this process has locked. */
async function driveSweep(
  plan: SweepPlan,
  o: SweepOptions,
  content: Awaited<ReturnType<typeof checkPoints>>,
): Promise<SweepState & { dir: string }> {
  const outDir = o.outDir;
  const base = planBase(plan, o.outDir, content);
  const before = refreshSweepState(base, o.outDir);
  const done = before.counts.succeeded;
  o.log(
    `sweep ${plan.id}: ${plan.points.length} points in ${o.outDir}` +
      (done ? ` (${done} already succeeded, not run again)` : ''),
  );
  const jobs = pointJobs(base, new LocalFsStorage(o.outDir).url);
  if (o.queue) await throughQueue(o.queue, base, jobs, o);
  else {
    const failed = await runLocal(jobs, resolve(o.outDir), o.parallel, o.signal, o.log);
    const state = refreshSweepState(base, o.outDir);
    if (failed.length) throw failedPoints(failed, o.outDir);
    return { ...state, dir: outDir };
  }
  return { ...refreshSweepState(base, o.outDir), dir: outDir };
}

function failedPoints(failed: { point: string; error: string }[], dir: string): UserError {
  return new UserError(
    `${failed.length} point(s) failed:\n` +
      failed.map((f) => `  ${f.point}: ${f.error}`).join('\n') +
      `\nsee runs/<point>/run.log in ${dir}; fix the cause and run e3 sweep again (succeeded points are not rerun)`,
  );
}

/** Queues the points, then (unless --no-wait) follows them until every job has completed or failed. */
async function throughQueue(url: string, base: SweepBase, jobs: PointJob[], o: SweepOptions): Promise<void> {
  const { queue, close } = await connectQueue(url);
  try {
    const state = refreshSweepState(base, o.outDir);
    const todo = jobs.filter((j) => state.points.find((p) => p.id === j.point)!.status !== 'succeeded');
    const added = await enqueuePoints(queue, todo);
    o.log(`queued ${added} point(s) on ${url}; workers take them: e3 worker --queue ${url}`);
    if (o.noWait) return;
    const failed = await followPoints(queue, todo, { base, dir: o.outDir, signal: o.signal, log: o.log });
    if (!failed) {
      o.log('stopped following the sweep; its queued points stay queued (e3 sweep --status DIR shows them)');
      return;
    }
    if (failed.length) throw failedPoints(failed, o.outDir);
  } finally {
    await close();
  }
}
