import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import {
  checkEntry,
  ENTRY_FORMAT,
  ENTRY_MARKER,
  looksLikeOlderEntry,
  META,
  OUTPUTS,
  sha256,
  type CacheEntryMeta,
  type StoredMeta,
} from './cache-entry.js';

export type { CacheEntryMeta } from './cache-entry.js';

/** One listed entry: its record, its size and when a run last used it. */
export interface CacheEntry extends StoredMeta {
  readonly bytes: number;
  readonly lastUsedAt: string;
}

/** What a lookup found under a key. */
export type CacheRead =
  | { readonly kind: 'hit'; readonly meta: StoredMeta; readonly outputs: Record<string, unknown[]> }
  | { readonly kind: 'missing' }
  /** e3's entry, but unusable: `reason` says what differs. */
  | { readonly kind: 'damaged'; readonly reason: string }
  /** Something without e3's marker sits at the key's path: left alone. */
  | { readonly kind: 'foreign' };

/** Everything under `<dir>/nodes/`, sorted into what e3 wrote and what it did not. */
export interface CacheSurvey {
  /** Whole, verified entries, oldest use first. */
  readonly entries: CacheEntry[];
  /** e3's entries that fail their check (never used; rewritten by the next run that needs them, removed by gc). */
  readonly damaged: { readonly name: string; readonly reason: string; readonly bytes: number }[];
  /** Half-written entries and replaced ones being removed (`.tmp-…`, `.trash-…`, with the marker). */
  readonly partial: string[];
  /** Names without the marker: not e3's, never deleted. `olderE3`: shaped like an older e3's entry. */
  readonly foreign: { readonly name: string; readonly olderE3: boolean }[];
}

/** Entries live in `<dir>/nodes/<key>`; a half-written one is `<dir>/nodes/.tmp-<key>-<pid>`. */
const NODES = 'nodes';
/** A half-written entry whose writer is alive on another machine is left this long. */
const PARTIAL_GRACE_MS = 3_600_000;

const isMarked = (dir: string) => existsSync(join(dir, ENTRY_MARKER));

function bytesOf(dir: string): number {
  try {
    return readdirSync(dir).reduce((a, f) => a + statSync(join(dir, f)).size, 0);
  } catch {
    return 0; // unreadable: listed with its reason
  }
}

/** The writer of `.tmp-<key>-<pid>` / `.trash-<key>-<pid>` is gone (on this machine), or it is long abandoned. */
function abandoned(dir: string, name: string): boolean {
  if (Date.now() - statSync(dir).mtimeMs > PARTIAL_GRACE_MS) return true;
  const pid = Number(/-(\d+)$/.exec(name)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * A content-addressed store of node outputs: one directory per cache key (plugin, resolved
 * params, input keys, seed, the content of the files the params name and the code; see
 * runtime/cache-keys.ts) holding every value of every output port as JSON. An entry appears whole or not
 * at all (written aside, then renamed); two runs that compute the same key at once both succeed
 * and the first rename wins (they computed the same thing). Each entry carries a marker file and
 * the hash of its outputs, checked before use: only marked directories are e3's to use or delete.
 */
export class NodeCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  private entryDir(key: string): string {
    return join(this.dir, NODES, key);
  }

  /** What is stored under `key`, checked; a hit marks the entry as used now (for `gc`). */
  read(key: string): CacheRead {
    const dir = this.entryDir(key);
    if (!existsSync(dir)) return { kind: 'missing' };
    if (!isMarked(dir)) return { kind: 'foreign' };
    const check = checkEntry(dir, key);
    if (!check.ok) return { kind: 'damaged', reason: check.reason };
    const now = new Date();
    try {
      utimesSync(join(dir, META), now, now);
    } catch {
      /* a read-only cache still serves hits */
    }
    return { kind: 'hit', meta: check.meta, outputs: check.outputs };
  }

  /** The stored values per output port of a whole, verified entry, or undefined. */
  load(key: string): { meta: StoredMeta; outputs: Record<string, unknown[]> } | undefined {
    const r = this.read(key);
    return r.kind === 'hit' ? { meta: r.meta, outputs: r.outputs } : undefined;
  }

  /**
   * Stores `outputs` under `meta.key` unless a whole entry is already there (a damaged entry of
   * e3's is replaced); returns whether this call wrote it. Something that is not e3's at that
   * path is never replaced.
   */
  save(meta: CacheEntryMeta, outputs: Record<string, unknown[]>): boolean {
    const target = this.entryDir(meta.key);
    if (existsSync(target)) {
      if (!isMarked(target) || checkEntry(target, meta.key).ok) return false;
      const trash = join(this.dir, NODES, `.trash-${meta.key}-${process.pid}`);
      try {
        renameSync(target, trash);
      } catch {
        return false; // another run replaced it first
      }
      rmSync(trash, { recursive: true, force: true });
    }
    const tmp = join(this.dir, NODES, `.tmp-${meta.key}-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, ENTRY_MARKER), 'written by e3 (node cache entry)\n');
    const text = JSON.stringify(outputs);
    writeFileSync(join(tmp, OUTPUTS), text);
    const stored: StoredMeta = { ...meta, format: ENTRY_FORMAT, outputsSha256: sha256(text) };
    writeFileSync(join(tmp, META), JSON.stringify(stored, null, 2) + '\n');
    try {
      renameSync(tmp, target);
      return true;
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return false; // another run stored the same key first
      throw e;
    }
  }

  /** Everything under `<dir>/nodes/`: verified entries, damaged and half-written ones of e3's, and foreign names. */
  survey(): CacheSurvey {
    const root = join(this.dir, NODES);
    const out: CacheSurvey = { entries: [], damaged: [], partial: [], foreign: [] };
    if (!existsSync(root)) return out;
    for (const name of readdirSync(root).sort()) {
      const dir = join(root, name);
      const isDir = lstatSync(dir).isDirectory(); // e3 writes no links: a link is not an entry
      if (!isDir || !isMarked(dir)) {
        out.foreign.push({ name, olderE3: isDir && looksLikeOlderEntry(dir, name) });
      } else if (name.startsWith('.')) {
        out.partial.push(name);
      } else {
        const check = checkEntry(dir, name);
        if (!check.ok) out.damaged.push({ name, reason: check.reason, bytes: bytesOf(dir) });
        else {
          const lastUsedAt = statSync(join(dir, META)).mtime.toISOString();
          out.entries.push({ ...check.meta, bytes: bytesOf(dir), lastUsedAt });
        }
      }
    }
    out.entries.sort((a, b) => a.lastUsedAt.localeCompare(b.lastUsedAt));
    return out;
  }

  /** Every whole, verified entry, oldest use first. */
  list(): CacheEntry[] {
    return this.survey().entries;
  }

  /**
   * Removes what e3 wrote and no run needs: entries unused for `olderThanDays` days (all with 0),
   * damaged entries, and half-written ones whose writer is gone. Anything without e3's marker
   * stays (see {@link survey}'s `foreign`). Returns the names removed.
   */
  gc(olderThanDays: number): string[] {
    const root = join(this.dir, NODES);
    const survey = this.survey();
    const cutoff = Date.now() - olderThanDays * 86_400_000;
    const removed = [
      ...survey.entries.filter((e) => Date.parse(e.lastUsedAt) <= cutoff).map((e) => e.key),
      ...survey.damaged.map((d) => d.name),
      ...survey.partial.filter((name) => abandoned(join(root, name), name)),
    ];
    for (const name of removed) rmSync(join(root, name), { recursive: true, force: true });
    return removed;
  }
}

/** A cache directory named on the command line must be a directory if it exists. */
export function checkCacheDir(dir: string, option: string): string {
  const abs = resolve(dir);
  if (existsSync(abs) && !statSync(abs).isDirectory()) {
    throw new UserError(`${option} ${dir} is a file; give a directory for the node cache`);
  }
  const nodes = join(abs, NODES);
  if (existsSync(nodes) && !lstatSync(nodes).isDirectory()) {
    throw new UserError(
      `${option} ${dir}: ${nodes} is not a directory, so ${dir} is not a node cache ` +
        '(fix: give another directory, or move that file away)',
    );
  }
  return abs;
}

/**
 * Whether a value survives JSON unchanged in kind: only plain objects, arrays, strings, finite
 * numbers, booleans and null.
 */
export function isPlainData(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(isPlainData);
  if (typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === null) && Object.values(v as object).every(isPlainData);
}
