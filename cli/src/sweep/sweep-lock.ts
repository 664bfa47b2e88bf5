import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledError, lockOwnerText, type RunLock, stopSignal, tryLock } from '@e3/core';

/** The lock of a sweep directory: held by the one `e3 sweep` that drives it (same protocol as run.lock). */
export const SWEEP_LOCK = 'sweep.lock';

/**
 * Takes the lock of sweep directory `dir` (creating the directory), waiting while another live
 * `e3 sweep` holds it: a second sweep of one directory waits for the first, then continues what
 * is left (nothing, when the first succeeded). A lock whose process is gone is taken over. Returns
 * undefined when `dir` is a file (openSweepDir refuses it). A stop while waiting leaves the other
 * sweep running.
 */
export async function lockSweepDir(
  dir: string,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<RunLock | undefined> {
  const abs = resolve(dir);
  if (existsSync(abs) && !statSync(abs).isDirectory()) return undefined;
  mkdirSync(abs, { recursive: true });
  let waiting = false;
  for (;;) {
    const got = tryLock(join(abs, SWEEP_LOCK), (o) =>
      log(`took over the lock of ${dir}` + (o ? ` (its e3 sweep, pid ${o.pid}, is no longer running)` : '')),
    );
    if ('lock' in got) {
      if (waiting) log(`the other e3 sweep of ${dir} has ended; continuing what is left`);
      return got.lock;
    }
    if (!waiting) {
      log(
        `${dir} is driven by another e3 sweep (${lockOwnerText(got.owner)}); waiting for it to end, then ` +
          `continuing what is left (Ctrl-C stops waiting and leaves it running; e3 sweep --status ${dir} shows it)`,
      );
    }
    waiting = true;
    if (signal.aborted)
      throw new CancelledError(stopSignal(signal), `stopped waiting; the other sweep of ${dir} goes on`);
    await sleep(1000);
  }
}
