import { linkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { pidAlive } from '../services/leftovers.js';
import { readJsonObject } from '../services/output-guard.js';

/** What `run.lock` holds: who runs in the directory. */
interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

export const LOCK_FILE = 'run.lock';

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

/**
 * Locks a run directory for one run: `run.lock` is created exclusively and holds the PID, host,
 * start time and command. A lock whose process is gone (killed, crashed) is stale and taken
 * over; a live one refuses the second run with a message naming the first. A lock from another
 * host is never presumed stale (a shared file system): the message says how to clear it.
 */
export function acquireRunLock(runDir: string, onStale: (owner: LockOwner | undefined) => void): RunLock {
  const file = join(runDir, LOCK_FILE);
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    command: process.argv.slice(2).join(' '),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(file, me)) {
      return {
        file,
        release: () => {
          if (readOwner(file)?.pid === me.pid) rmSync(file, { force: true });
        },
      };
    }
    const owner = readOwner(file);
    const alive = owner && (owner.host !== me.host || pidAlive(owner.pid));
    if (alive) {
      const where = owner.host === me.host ? `pid ${owner.pid}` : `pid ${owner.pid} on ${owner.host}`;
      throw new UserError(
        `run directory ${runDir} is in use by another e3 run ` +
          `(${where}, started ${owner.startedAt}: e3 ${owner.command}); wait for it to finish, or choose another --out` +
          (owner.host !== me.host ? ` (if that run is gone, delete ${file})` : ''),
      );
    }
    onStale(owner);
    removeStale(file, owner);
  }
  throw new UserError(`cannot lock run directory ${runDir}: ${file} keeps reappearing; is another run starting there?`);
}
