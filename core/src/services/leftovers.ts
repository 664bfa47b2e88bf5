import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isE3Export } from './output-guard.js';

/** The file writeDirAtomic puts in a directory while it fills it, so that a leftover is known as e3's. */
export const PARTIAL_MARKER = '.e3-partial';

/** Whether a process with this id runs on this machine (EPERM: it runs, as another user). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What {@link recoverLeftovers} did (its tests read it; writeDirAtomic does not need it). */
export interface Recovery {
  readonly removed: string[];
  readonly restored?: string;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Cleans up after a process that was killed while it replaced `target` through
 * `<target>.partial-PID` (being filled) and `<target>.old-PID` (the previous version, moved
 * aside for the swap). Only leftovers that are provably e3's are touched: of a process that is
 * no longer alive, and holding {@link PARTIAL_MARKER} (a partial) or an export's marker (an
 * old version). A half-filled `.partial` is removed. An `.old` is put back when the kill came
 * between the two renames (no `target`), and removed otherwise. Call it only for a target the
 * output guard accepted.
 */
export function recoverLeftovers(target: string): Recovery {
  const parent = dirname(target);
  const removed: string[] = [];
  let restored: string | undefined;
  if (!existsSync(parent)) return { removed };
  const pattern = new RegExp(`^${escape(basename(target))}\\.(partial|old)-(\\d+)$`);
  for (const name of readdirSync(parent)) {
    const m = pattern.exec(name);
    if (!m || pidAlive(Number(m[2]))) continue;
    const path = join(parent, name);
    if (!(m[1] === 'partial' ? existsSync(join(path, PARTIAL_MARKER)) : isE3Export(path))) continue;
    if (m[1] === 'old' && !existsSync(target)) {
      renameSync(path, target);
      restored = path;
    } else {
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    }
  }
  return { removed, restored };
}
