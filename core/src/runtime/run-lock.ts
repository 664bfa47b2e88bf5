import { linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { pidAlive } from '../services/leftovers.js';
import { readJsonObject } from '../services/output-guard.js';

/** What `run.lock` holds: who runs in the directory. */
export interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

export const LOCK_FILE = 'run.lock';

/** A run directory locked by another live run (the first run goes on; this one did not start). */
export class RunDirBusyError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'RunDirBusyError';
  }
}

/** A held run lock; `release()` removes the file (only if it is still ours). */
export interface RunLock {
  readonly file: string;
  release(): void;
}

function readOwner(file: string): LockOwner | undefined {
  return readJsonObject(file) as LockOwner | undefined;
}

/** Creates `file` holding `owner`, atomically and only if absent (a hard link never exists half-written). */
function tryCreate(file: string, owner: LockOwner): boolean {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(owner) + '\n');
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Moves a stale lock out of the way. Only one of several processes that judged it stale wins
 * the rename; if what it moved is not the lock it judged (a new owner came in between), it is
 * put back.
 */
function removeStale(file: string, judged: LockOwner | undefined): void {
  const aside = `${file}.stale-${process.pid}`;
  try {
    renameSync(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (JSON.stringify(readOwner(aside)) !== JSON.stringify(judged)) {
    try {
      linkSync(aside, file);
    } catch {
      /* a newer lock is already there */
    }
  }
  rmSync(aside, { force: true });
}

/** The lock `file`, or who holds it (a live process, or one on another host) when it is taken. */
export function tryLock(
  file: string,
  onStale: (owner: LockOwner | undefined) => void,
): { lock: RunLock } | { owner: LockOwner } {
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    command: process.argv.slice(2).join(' '),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(file, me)) {
      const release = () => {
        if (readOwner(file)?.pid === me.pid) rmSync(file, { force: true });
      };
      return { lock: { file, release } };
    }
    const owner = readOwner(file);
    if (owner?.pid === me.pid && owner.host === me.host) {
      // taken for this process before it started (see lockRunDirFor): it is this process's lock
      return { lock: { file, release: () => rmSync(file, { force: true }) } };
    }
    if (owner && (owner.host !== me.host || pidAlive(owner.pid))) return { owner };
    onStale(owner);
    removeStale(file, owner);
  }
  throw new UserError(`cannot lock ${file}: it keeps reappearing; is another e3 process starting there?`);
}

/** How a message names a lock's owner: `pid N[ on HOST], started T: e3 COMMAND`. */
export function lockOwnerText(owner: LockOwner): string {
  const where = owner.host === hostname() ? `pid ${owner.pid}` : `pid ${owner.pid} on ${owner.host}`;
  return `${where}, started ${owner.startedAt}: e3 ${owner.command}`;
}

/**
 * Locks a run directory for one run: `run.lock` is created exclusively and holds the PID, host,
 * start time and command. A lock whose process is gone (killed, crashed) is stale and taken
 * over; a live one refuses the second run with a message naming the first. A lock from another
 * host is never presumed stale (a shared file system): the message says how to clear it.
 */
export function acquireRunLock(runDir: string, onStale: (owner: LockOwner | undefined) => void): RunLock {
  const file = join(runDir, LOCK_FILE);
  const got = tryLock(file, onStale);
  if ('lock' in got) return got.lock;
  const owner = got.owner;
  throw new RunDirBusyError(
    `run directory ${runDir} is in use by another e3 run ` +
      `(${lockOwnerText(owner)}); wait for it to finish, or choose another --out` +
      (owner.host !== hostname() ? ` (if that run is gone, delete ${file})` : ''),
  );
}

/**
 * Locks `runDir` for the `e3 run` that process `pid` of this machine is starting (its own
 * acquireRunLock then finds the lock its own), so that between that process's start and its
 * lock nobody takes the directory for a run of its own. 'busy' when a live process holds it; a
 * stale lock is left for the run to take over (and log). `release()` removes the lock if it still
 * names `pid` (the run never took it over, e.g. it failed before).
 */
export function lockRunDirFor(runDir: string, pid: number): RunLock | 'busy' {
  const file = join(runDir, LOCK_FILE);
  mkdirSync(runDir, { recursive: true });
  const owner = { pid, host: hostname(), startedAt: new Date().toISOString(), command: 'run (starting)' };
  const release = () => {
    if (readOwner(file)?.pid === pid) rmSync(file, { force: true });
  };
  if (tryCreate(file, owner)) return { file, release };
  const holder = readOwner(file);
  if (holder && (holder.host !== owner.host || pidAlive(holder.pid))) return 'busy';
  return { file, release: () => undefined };
}
