import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readSync, realpathSync, statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../services/artifact-store.js';
import { readJsonObject } from '../services/output-guard.js';

/** What identifies one version of a file without reading it: a change to the file changes one of these. */
interface Stamp {
  readonly size: number;
  readonly mtimeNs: string;
  /** Set by the kernel on every write, rename or chmod; a copy that restores mtime (`cp -p`) still changes it. */
  readonly ctimeNs: string;
  readonly ino: number;
}

interface Memo extends Stamp {
  readonly sha256: string;
}

/** The memo file in a cache directory: the content hash of every file hashed there, by real path. */
export const FILE_HASHES = 'file-hashes.json';
const READ_CHUNK = 8 << 20;
/**
 * File times tick in coarse steps (a kernel jiffy, up to 10 ms): a file changed less than this
 * before it was hashed is not memoised, as a same-size write right after could keep its stamp.
 */
const RACY_MS = 50;
/** Files at least this large get a line in the log when they are hashed (the first time only). */
const ANNOUNCE_BYTES = 64 << 20;

function stampOf(s: BigIntStats): Stamp {
  return { size: Number(s.size), mtimeNs: String(s.mtimeNs), ctimeNs: String(s.ctimeNs), ino: Number(s.ino) };
}

const sameStamp = (a: Stamp, b: Stamp) =>
  a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino;

function isMemo(v: unknown): v is Memo {
  const m = v as Memo;
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof m.sha256 === 'string' &&
    typeof m.size === 'number' &&
    typeof m.mtimeNs === 'string' &&
    typeof m.ctimeNs === 'string' &&
    typeof m.ino === 'number'
  );
}

/** The sha256 of a file's bytes, read in chunks (a checkpoint of gigabytes never sits in memory). */
export function sha256OfFile(file: string): string {
  const hash = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    for (let n; (n = readSync(fd, buf, 0, READ_CHUNK, null)) > 0;) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Content hashes of files and directories, each file read once per version: the hash is memoised
 * by real path, size, mtime, ctime and inode in `<cache dir>/file-hashes.json`, so a 1 GB
 * checkpoint costs its reading once, then one stat per run. Any write to the file (in place, by
 * a copy over it, by a rename over it) changes the stamp and the file is hashed again.
 */
export class FileHasher {
  private readonly memo = new Map<string, Memo>();
  private dirty = false;

  /** `memoFile` undefined: nothing is remembered between processes. */
  constructor(
    private readonly memoFile?: string,
    private readonly announce: (line: string) => void = () => {},
  ) {
    if (!memoFile) return;
    const files = readJsonObject(memoFile)?.files;
    if (typeof files !== 'object' || files === null) return; // missing or damaged: hash afresh
    for (const [path, m] of Object.entries(files)) if (isMemo(m)) this.memo.set(path, m);
  }

  /** The sha256 of a regular file's content. */
  file(path: string): string {
    const real = realpathSync(path);
    const stamp = stampOf(statSync(real, { bigint: true }));
    const known = this.memo.get(real);
    if (known && sameStamp(known, stamp)) return known.sha256;
    if (stamp.size >= ANNOUNCE_BYTES) {
      this.announce(`hashing ${path} (${(stamp.size / 2 ** 20).toFixed(0)} MiB) for the node cache key, once`);
    }
    const settled = BigInt(Date.now() - RACY_MS) * 1_000_000n;
    const sha256 = sha256OfFile(real);
    const after = stampOf(statSync(real, { bigint: true }));
    // Not memoised: a file written while it was read, or changed so recently that a write just
    // after the read could carry the same coarse timestamps (the next run hashes it again).
    if (sameStamp(after, stamp) && BigInt(stamp.ctimeNs) < settled) {
      this.memo.set(real, { ...stamp, sha256 });
      this.dirty = true;
    }
    return sha256;
  }

  /**
   * Every file below `dir` (names sorted, dot entries and node_modules skipped) with its hash,
   * relative to `dir`; symbolic links are followed, a link back up the tree is skipped.
   */
  dir(dir: string, filter: (name: string) => boolean = () => true): Record<string, string> {
    const out: Record<string, string> = {};
    const seen = new Set<string>();
    const walk = (abs: string, rel: string) => {
      const real = realpathSync(abs);
      if (seen.has(real)) return;
      seen.add(real);
      for (const name of readdirSync(abs).sort()) {
        if (name.startsWith('.') || name === 'node_modules') continue;
        const path = join(abs, name);
        const s = statSync(path);
        if (s.isDirectory()) walk(path, rel ? `${rel}/${name}` : name);
        else if (s.isFile() && filter(name)) out[rel ? `${rel}/${name}` : name] = this.file(path);
      }
    };
    walk(dir, '');
    return out;
  }

  /** Writes what was learnt to the memo file (merged with what another process wrote meanwhile). */
  save(): void {
    if (!this.memoFile || !this.dirty) return;
    const files = readJsonObject(this.memoFile)?.files;
    const merged: Record<string, Memo> = {};
    if (typeof files === 'object' && files !== null) {
      for (const [path, m] of Object.entries(files)) if (isMemo(m)) merged[path] = m;
    }
    for (const [path, m] of this.memo) merged[path] = m;
    for (const path of Object.keys(merged)) {
      try {
        statSync(path);
      } catch {
        delete merged[path]; // the file is gone: forget it
      }
    }
    try {
      writeFileAtomic(this.memoFile, JSON.stringify({ format: 1, files: merged }, null, 1) + '\n');
      this.dirty = false;
    } catch {
      /* a read-only cache: the files are hashed again next time */
    }
  }
}
