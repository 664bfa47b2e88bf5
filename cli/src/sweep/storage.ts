import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * Where a sweep's results live when a worker does not run in the sweep directory itself (no
 * shared file system): a worker runs a point in a local directory, then uploads the run's
 * directory (outputs, report, logs, checkpoints) under the sweep's prefix for that point, and
 * downloads what was uploaded before it resumes a point. Keys are relative paths such as
 * `runs/<point>`; an implementation for an object store maps them to object-name prefixes.
 */
export interface SweepStorage {
  /** How messages and job data name it, e.g. `file:///shared/sweeps/s1`. */
  readonly url: string;
  /** The directory it is, when it is a file system this process sees (then a worker can run points in it). */
  readonly localRoot?: string;
  /** Copies `localDir` under `prefix`, replacing what was there. */
  upload(localDir: string, prefix: string): Promise<void>;
  /** Copies what is under `prefix` into `localDir`; false when nothing is stored there. */
  download(prefix: string, localDir: string): Promise<boolean>;
}

/** A storage that is a directory (a local disk, or a network file system mounted on every worker). */
export class LocalFsStorage implements SweepStorage {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  get url(): string {
    return `file://${this.root}`;
  }

  get localRoot(): string {
    return this.root;
  }

  async upload(localDir: string, prefix: string): Promise<void> {
    const target = join(this.root, prefix);
    const tmp = `${target}.upload-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(dirname(target), { recursive: true });
    cpSync(localDir, tmp, { recursive: true });
    rmSync(target, { recursive: true, force: true });
    renameSync(tmp, target); // the copy is whole before it takes the point's name
  }

  async download(prefix: string, localDir: string): Promise<boolean> {
    const source = join(this.root, prefix);
    if (!existsSync(source)) return false;
    mkdirSync(localDir, { recursive: true });
    cpSync(source, localDir, { recursive: true });
    return true;
  }
}

/** The storage a URL names; only `file://` (and plain paths) for now. */
export function openStorage(url: string): SweepStorage {
  return new LocalFsStorage(url.startsWith('file://') ? url.slice('file://'.length) : url);
}
