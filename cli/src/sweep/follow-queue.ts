import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import { jobStates, enqueuePoints } from './queue.js';
import type { PointJob } from './point-job.js';
import { refreshSweepState, type SweepBase } from './sweep-state.js';

/** How a followed point ended. */
export interface PointEnd {
  readonly point: string;
  readonly error?: string;
}

/** The sweep whose queued points followPoints follows. */
export interface FollowOptions {
  readonly base: SweepBase;
  /** The sweep directory. */
  readonly dir: string;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
}

/**
 * Follows queued points until each has ended, reading both the queue and the run directories (the
 * truth when Redis forgets): a point ends when its job completes or fails, or when its run
 * succeeds. A point whose job Redis no longer knows (it restarted without its data) and whose run
 * is not going and not finished is queued again, and the log says so; one whose run still goes is
 * followed through its run directory. Returns the points that failed, or undefined when stopped.
 */
export async function followPoints(
  queue: Queue<PointJob>,
  todo: PointJob[],
  o: FollowOptions,
): Promise<{ point: string; error: string }[] | undefined> {
  const { base, dir, signal, log } = o;
  const seen = new Map<string, string>();
  const ended = new Map<string, PointEnd>();
  const say = (point: string, what: string) => {
    if (seen.get(point) !== what) log(`${point}: ${what}`);
    seen.set(point, what);
  };
  for (;;) {
    const open = todo.filter((j) => !ended.has(j.point));
    const jobs = await jobStates(queue, open);
    const runs = new Map(refreshSweepState(base, dir).points.map((p) => [p.id, p]));
    for (const job of open) {
      const s = jobs.get(job.point)!;
      const run = runs.get(job.point)!;
      if (s.state === 'completed' || run.status === 'succeeded') {
        say(job.point, 'completed');
        ended.set(job.point, { point: job.point });
      } else if (s.state === 'failed') {
        say(job.point, `failed${s.reason ? ` (${s.reason})` : ''}`);
        ended.set(job.point, { point: job.point, error: s.reason ?? 'failed' });
      } else if (s.state !== 'missing' && s.state !== 'unknown') {
        say(job.point, s.state);
      } else if (run.status === 'running') {
        say(job.point, 'running (its job is gone from Redis; following its run directory)');
      } else if (run.status === 'failed') {
        say(job.point, `failed (${run.error ?? 'see its run.log'})`);
        ended.set(job.point, { point: job.point, error: run.error ?? 'failed' });
      } else {
        await enqueuePoints(queue, [job]);
        log(
          `${job.point}: Redis no longer knows its job (restarted without its data?) and its run is ` +
            `${run.status}; queued it again`,
        );
        seen.set(job.point, 'waiting');
      }
    }
    if (ended.size === todo.length)
      return [...ended.values()].flatMap((e) => (e.error === undefined ? [] : [{ point: e.point, error: e.error }]));
    if (signal.aborted) return undefined;
    await sleep(1000);
  }
}
