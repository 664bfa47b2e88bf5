import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { UserError } from '@e3/core';
import type { PointJob } from './point-job.js';

/** The BullMQ queue every sweep and worker uses (jobs carry their sweep's id). */
export const QUEUE_NAME = 'e3-sweep-points';

/**
 * A Redis client for `redis://[user:password@]host:port[/db]` (BullMQ in native ESM takes a client
 * instance, not options). The caller disconnects it after closing what uses it.
 */
export function redisClient(url: string): Redis {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    u = undefined;
  }
  if (u?.protocol !== 'redis:' || !u.hostname) {
    throw new UserError(`--queue ${url}: not a Redis URL; give redis://host:port (e.g. redis://127.0.0.1:6379)`);
  }
  const client = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
  client.on('error', () => {
    /* connection errors: retried by the client; a first failure is reported by connectQueue */
  });
  return client;
}

/** A queue and the client it owns. */
export interface OpenQueue {
  readonly queue: Queue<PointJob>;
  close(): Promise<void>;
}

/** Waits until the Redis of `url` answers, or fails with a message saying how to start one. */
export async function connectQueue(url: string, seconds = 5): Promise<OpenQueue> {
  const client = redisClient(url);
  const queue = new Queue<PointJob>(QUEUE_NAME, { connection: client });
  queue.on('error', () => {
    /* reported below, or retried by the client */
  });
  const close = async () => {
    await queue.close().catch(() => undefined);
    client.disconnect();
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new UserError(
            `cannot reach Redis at ${url} within ${seconds} s; start one ` +
              `(redis-server --port ${new URL(url).port || 6379}) or fix --queue / E3_QUEUE`,
          ),
        ),
      seconds * 1000,
    );
  });
  try {
    await Promise.race([queue.waitUntilReady().then(() => client.ping()), timeout]);
    return { queue, close };
  } catch (e) {
    await close();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** One job per point and sweep directory: re-adding it is a no-op while BullMQ keeps it. */
export function jobId(job: PointJob): string {
  return `${job.sweepId}-${createHash('sha256').update(`${job.storage}\n${job.point}`).digest('hex').slice(0, 16)}`;
}

/**
 * Puts the points on the queue: a new point is added; one whose job failed earlier is retried;
 * one whose job completed although its run did not succeed (its directory was deleted) is
 * added afresh; waiting and active jobs are left as they are (a worker holds or will take them).
 */
export async function enqueuePoints(queue: Queue<PointJob>, jobs: PointJob[]): Promise<number> {
  let added = 0;
  for (const data of jobs) {
    const id = jobId(data);
    const existing = await queue.getJob(id);
    const state = existing ? await existing.getState() : 'missing';
    if (state === 'failed') {
      await existing!.retry('failed');
      added++;
      continue;
    }
    if (state === 'completed') await existing!.remove();
    if (state === 'completed' || state === 'missing' || state === 'unknown') {
      await queue.add('point', data, {
        jobId: id,
        removeOnComplete: { age: 7 * 86400 },
        removeOnFail: { age: 7 * 86400 },
      });
      added++;
    }
  }
  return added;
}

/** The state of each point's job ('missing' when BullMQ no longer has it). */
export async function jobStates(
  queue: Queue<PointJob>,
  jobs: PointJob[],
): Promise<Map<string, { state: string; reason?: string }>> {
  const out = new Map<string, { state: string; reason?: string }>();
  for (const data of jobs) {
    const job = await queue.getJob(jobId(data));
    out.set(data.point, job ? { state: await job.getState(), reason: job.failedReason } : { state: 'missing' });
  }
  return out;
}
