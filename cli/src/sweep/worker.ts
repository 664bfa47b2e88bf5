import { existsSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { CancelledError, lockRunDirFor, RunDirBusyError, stopSignal } from '@e3/core';
import { claimPoint } from './point-claim.js';
import { pointRun, type PointJob, type PointRun } from './point-job.js';
import { connectQueue, QUEUE_NAME, redisClient } from './queue.js';
import { openStorage } from './storage.js';
import { readPointStatus } from './sweep-state.js';

export interface WorkerOptions {
  readonly url: string;
  /** Runs a point in this process, as `e3 run` does (the run command's own function). */
  readonly run: (point: PointRun) => Promise<void>;
  /** A job's lock lasts this long without renewal; a dead worker's job is handed on after about twice this. */
  readonly lockSeconds: number;
  /**
   * Run points here and upload them to the sweep's storage (no shared file system); else run them
   * in the sweep directory.
   */
  readonly workdir?: string;
  /** Exit once the queue holds no waiting, delayed or active job. */
  readonly untilEmpty: boolean;
  readonly log: (line: string) => void;
  readonly signal: AbortSignal;
}

/**
 * Takes points off the queue, one at a time, and runs each with `e3 run` in this process. A point
 * whose run already succeeded is not run again; one whose run stopped (its worker was killed) is
 * resumed from its checkpoints; one still running under a live process (a job handed on while its
 * first worker still ran) is waited for, never run twice at once: a Redis claim per point (see
 * point-claim.ts) covers --workdir copies, and the run.lock the shared directory. Stopped by
 * SIGINT/SIGTERM, it hands its point back to the queue and exits 130/143.
 */
export async function runWorker(o: WorkerOptions): Promise<void> {
  const { queue, close } = await connectQueue(o.url);
  const client = redisClient(o.url);
  const claims = redisClient(o.url);
  const worker = new Worker<PointJob>(QUEUE_NAME, (job, token) => runPoint(job, token, claims, o), {
    connection: client,
    concurrency: 1,
    autorun: false,
    lockDuration: o.lockSeconds * 1000,
    stalledInterval: o.lockSeconds * 1000,
    maxStalledCount: 2,
  });
  worker.on('failed', (job, e) => o.log(`point ${job?.data.point} failed: ${e.message}`));
  worker.on('error', (e) => o.log(`queue error: ${e.message}`));
  const stop = () => {
    void worker.close();
  };
  o.signal.addEventListener('abort', stop, { once: true });
  o.log(`worker ${process.pid} takes points from ${o.url} (lock ${o.lockSeconds} s)`);
  const running = worker.run();
  if (o.untilEmpty) {
    for (;;) {
      await sleep(1000);
      if (worker.closing || o.signal.aborted) break;
      const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children');
      if (Object.values(counts).every((n) => n === 0)) break;
    }
    await worker.close();
  }
  await running;
  o.signal.removeEventListener('abort', stop);
  client.disconnect();
  claims.disconnect();
  await close();
  if (o.signal.aborted) {
    const signal = stopSignal(o.signal);
    throw new CancelledError(signal, `worker ${process.pid} stopped${signal ? ` (${signal})` : ''}`);
  }
}

/** How long a point's claim outlives its worker's last renewal (see point-claim.ts). */
function claimSeconds(lockSeconds: number): number {
  return Math.max(60, 10 * lockSeconds);
}

/**
 * Runs one point under its claim. A worker stopped by SIGINT or SIGTERM hands the point back to the
 * queue (its run stops and saves its checkpoints; the next worker resumes it), as a killed worker's
 * point is handed on once its lock lapses; the point is not marked failed.
 */
async function runPoint(
  job: Job<PointJob>,
  token: string | undefined,
  client: Redis,
  o: WorkerOptions,
): Promise<{ runDir: string; status: string }> {
  const d = job.data;
  const claim = await claimPoint(client, `e3:claim:${job.id}`, claimSeconds(o.lockSeconds), o.signal, (holder) =>
    o.log(`point ${d.point}: still held by the worker ${holder} (its job lock lapsed: a stalled worker?); waiting`),
  );
  try {
    if (!claim) throw new StoppedWhileWaiting();
    return await runClaimed(d, o);
  } catch (e) {
    if (!(e instanceof CancelledError || e instanceof StoppedWhileWaiting) || !o.signal.aborted) throw e;
    await job.moveToWait(token);
    o.log(`point ${d.point}: stopped (${stopSignal(o.signal) ?? 'stop'}); handed back to the queue for another worker`);
    throw new WaitingError();
  } finally {
    await claim?.release();
  }
}

/** The worker was stopped before the point's run began. */
class StoppedWhileWaiting extends Error {}

async function runClaimed(d: PointJob, o: WorkerOptions): Promise<{ runDir: string; status: string }> {
  const storage = openStorage(d.storage);
  const local = o.workdir ? resolve(o.workdir, d.sweepId, d.dir) : undefined;
  if (!local && !storage.localRoot) {
    throw new Error(`the sweep's storage ${storage.url} is not a directory here; start the worker with --workdir DIR`);
  }
  if (!local && !existsSync(storage.localRoot!)) {
    throw new Error(`the sweep directory ${storage.localRoot} is gone (deleted, or not mounted on this machine)`);
  }
  const runDir = local ?? join(storage.localRoot!, d.dir);
  if (local) {
    // The storage holds what the point's last holder uploaded: it is newer than any copy here.
    const tmp = `${local}.download-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    if (await storage.download(d.dir, tmp)) {
      rmSync(local, { recursive: true, force: true });
      renameSync(tmp, local);
    }
  }
  for (;;) {
    let waited = false;
    while (readPointStatus(runDir).status === 'running') {
      if (!waited) o.log(`point ${d.point}: its run is still going under another process; waiting for it`);
      waited = true;
      if (o.signal.aborted) throw new StoppedWhileWaiting();
      await sleep(1000);
    }
    const before = readPointStatus(runDir);
    if (before.status === 'succeeded') {
      o.log(`point ${d.point}: already succeeded in ${runDir}; not run again`);
      return { runDir, status: 'succeeded' };
    }
    if (o.signal.aborted) throw new StoppedWhileWaiting();
    o.log(
      `point ${d.point}: ${before.status === 'pending' ? 'starting' : `resuming its ${before.status} run`} in ${runDir}`,
    );
    const cache = o.workdir ? resolve(o.workdir, 'cache') : d.cache;
    const run = pointRun(d, runDir, cache);
    const lock = lockRunDirFor(runDir, process.pid); // the point is this worker's while its run loads
    if (lock === 'busy') continue; // another process took the directory first: wait for it
    try {
      await o.run(run);
    } catch (e) {
      if (e instanceof RunDirBusyError) continue;
      throw e;
    } finally {
      lock.release();
      if (local) await storage.upload(local, d.dir);
    }
    o.log(`point ${d.point}: succeeded`);
    return { runDir, status: 'succeeded' };
  }
}
