import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';

/**
 * The run directory. Every write is atomic (temp file or temp directory, then rename), so
 * a crash never leaves a half-written artifact where a reader would take it for whole.
 */
export class ArtifactStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
    mkdirSync(this.dir, { recursive: true });
  }

  path(...parts: string[]): string { return join(this.dir, ...parts); }

  writeText(name: string, text: string | Uint8Array): string {
    return writeFileAtomic(this.path(name), text);
  }

  writeJson(name: string, value: unknown): string {
    return this.writeText(name, JSON.stringify(value, null, 2) + '\n');
  }
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
 * succeeds; on failure the temporary directory is removed and `target` is untouched.
 * Refuses to replace an existing `target` unless `force`.
 */
export async function writeDirAtomic(target: string, fill: (tmpDir: string) => Promise<void> | void, force = false): Promise<string> {
  const out = resolve(target);
  if (existsSync(out) && !force) throw new UserError(`${out} already exists; choose another output directory or pass --force (force: true) to replace it`);
  const tmp = `${out}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await fill(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  if (existsSync(out)) {
    const old = `${out}.old-${process.pid}`;
    renameSync(out, old);
    renameSync(tmp, out);
    rmSync(old, { recursive: true, force: true });
  } else renameSync(tmp, out);
  return out;
}
