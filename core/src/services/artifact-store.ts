import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { PARTIAL_MARKER, recoverLeftovers } from './leftovers.js';
import { checkReplaceable, type OutputGuard } from './output-guard.js';

/**
 * The run directory. Every write is atomic (temp file or temp directory, then rename), so
 * a crash never leaves a half-written artifact where a reader would take it for whole.
 */
export class ArtifactStore {
  /** The run directory, absolute. */
  readonly dir: string;

  /** Built by the runtime for the run directory (inject ARTIFACTS); creates it. */
  constructor(dir: string) {
    this.dir = resolve(dir);
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (e) {
      throw writeError(e, this.dir, 'create the run directory');
    }
  }

  /** The absolute path of `parts` inside the run directory (nothing is created). */
  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** Where node `id` keeps the state it resumes from (discarded when the node's inputs or params change). */
  checkpointDir(id: string): string {
    return this.path('checkpoints', ...id.split('.')); // a repeat round's node round1.x: checkpoints/round1/x
  }

  /** Writes `name` (relative to the run directory, folders created) atomically; returns its path. */
  writeText(name: string, text: string | Uint8Array): string {
    try {
      return writeFileAtomic(this.path(name), text);
    } catch (e) {
      throw writeError(e, this.path(name), 'write');
    }
  }

  /** Writes `value` as indented JSON to `name`, atomically; returns its path. */
  writeJson(name: string, value: unknown): string {
    return this.writeText(name, JSON.stringify(value, null, 2) + '\n');
  }
}

const WRITE_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  ENOTDIR: 'a part of the path is a file',
  EEXIST: 'a file is in the way',
  ENOENT: 'a part of the path is missing or not writable',
  ELOOP: 'a symbolic link loop is in the path',
};

/** Turns a file system error on a write into a UserError naming the path, the cause and a fix. */
export function writeError(e: unknown, path: string, action: string): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (!code || !(code in WRITE_ERRORS)) return e as Error;
  return new UserError(
    `cannot ${action} ${path}: ${WRITE_ERRORS[code]} (${code}); ` +
      'choose a writable directory with --out (or fix the permissions)',
  );
}

/** Writes a file through `<file>.tmp-<pid>` and a rename. */
export function writeFileAtomic(file: string, data: string | Uint8Array): string {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
  return file;
}

/**
 * Builds a directory at a temporary sibling path and renames it into place once `fill`
 * succeeds; on failure the temporary directory is removed and `target` is untouched. What
 * may be replaced is decided by {@link checkReplaceable} (`guard`). Leftovers of a killed
 * earlier replacement are cleaned up (or its previous version restored) first.
 */
export async function writeDirAtomic(
  target: string,
  fill: (tmpDir: string) => Promise<void> | void,
  guard: OutputGuard,
): Promise<string> {
  const out = resolve(target);
  checkReplaceable(out, guard);
  recoverLeftovers(out);
  checkReplaceable(out, guard); // again: a recovered previous version may now be in place
  const tmp = `${out}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, PARTIAL_MARKER), `${process.pid}\n`);
  try {
    await fill(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  rmSync(join(tmp, PARTIAL_MARKER));
  if (existsSync(out)) {
    // Between these two renames `target` is missing; recoverLeftovers puts `.old` back after a kill.
    const old = `${out}.old-${process.pid}`;
    renameSync(out, old);
    renameSync(tmp, out);
    rmSync(old, { recursive: true, force: true });
  } else renameSync(tmp, out);
  return out;
}
