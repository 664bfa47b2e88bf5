import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { readJsonObject } from '../services/output-guard.js';

/** What an entry records beside its outputs. */
export interface CacheEntryMeta {
  readonly key: string;
  readonly plugin: string;
  /** The node id in the run that computed it, and that run's directory. */
  readonly node: string;
  readonly run: string;
  readonly createdAt: string;
  readonly version: string;
}

/** One listed entry: its record, its size and when a run last used it. */
export interface CacheEntry extends CacheEntryMeta {
  readonly bytes: number;
  readonly lastUsedAt: string;
}

const OUTPUTS = 'outputs.json';
const META = 'meta.json';
/** Entries live in `<dir>/nodes/<key>`; a half-written one is `<dir>/nodes/.tmp-<key>-<pid>`. */
const NODES = 'nodes';

/**
 * A content-addressed store of node outputs: one directory per node key (plugin, resolved params,
 * input keys, seed and e3 version; see node-keys.ts) holding every value of every output port as
 * JSON. An entry appears whole or not at all (written aside, then renamed); two runs that compute
 * the same key at once both succeed and the first rename wins (they computed the same thing).
 */
export class NodeCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  private entryDir(key: string): string {
    return join(this.dir, NODES, key);
  }

  /** The stored values per output port, or undefined; a hit marks the entry as used now (for `gc`). */
  load(key: string): { meta: CacheEntryMeta; outputs: Record<string, unknown[]> } | undefined {
    const dir = this.entryDir(key);
    const meta = readJsonObject(join(dir, META)) as CacheEntryMeta | undefined;
    const outputs = readJsonObject(join(dir, OUTPUTS)) as Record<string, unknown[]> | undefined;
    if (!meta || !outputs) return undefined;
    const now = new Date();
    try {
      utimesSync(join(dir, META), now, now);
    } catch {
      /* a read-only cache still serves hits */
    }
    return { meta, outputs };
  }

  /** Stores `outputs` under `meta.key` unless an entry is already there; returns whether this call wrote it. */
  save(meta: CacheEntryMeta, outputs: Record<string, unknown[]>): boolean {
    const target = this.entryDir(meta.key);
    if (existsSync(target)) return false;
    const tmp = join(this.dir, NODES, `.tmp-${meta.key}-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, OUTPUTS), JSON.stringify(outputs));
    writeFileSync(join(tmp, META), JSON.stringify(meta, null, 2) + '\n');
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

  /** Every whole entry, oldest use first. */
  list(): CacheEntry[] {
    const root = join(this.dir, NODES);
    if (!existsSync(root)) return [];
    const out: CacheEntry[] = [];
    for (const name of readdirSync(root)) {
      if (name.startsWith('.')) continue;
      const meta = readJsonObject(join(root, name, META)) as CacheEntryMeta | undefined;
      if (!meta) continue;
      const bytes = readdirSync(join(root, name)).reduce((a, f) => a + statSync(join(root, name, f)).size, 0);
      out.push({ ...meta, bytes, lastUsedAt: statSync(join(root, name, META)).mtime.toISOString() });
    }
    return out.sort((a, b) => a.lastUsedAt.localeCompare(b.lastUsedAt));
  }

  /**
   * Removes half-written entries (of killed runs) and entries unused for `olderThanDays` days
   * (all entries with 0). Returns the keys removed.
   */
  gc(olderThanDays: number): string[] {
    const root = join(this.dir, NODES);
    if (!existsSync(root)) return [];
    const cutoff = Date.now() - olderThanDays * 86_400_000;
    const removed: string[] = [];
    for (const name of readdirSync(root)) {
      const dir = join(root, name);
      const metaFile = join(dir, META);
      const stale = name.startsWith('.tmp-') || !existsSync(metaFile) || statSync(metaFile).mtimeMs <= cutoff;
      if (!stale) continue;
      rmSync(dir, { recursive: true, force: true });
      removed.push(name);
    }
    return removed;
  }
}

/** A cache directory named on the command line must be a directory if it exists. */
export function checkCacheDir(dir: string, option: string): string {
  const abs = resolve(dir);
  if (existsSync(abs) && !statSync(abs).isDirectory()) {
    throw new UserError(`${option} ${dir} is a file; give a directory for the node cache`);
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

/** Reads `cache ls` entries of `dir` (for the CLI); a missing directory lists nothing. */
export function readCacheSummary(dir: string): { entries: CacheEntry[]; bytes: number } {
  const entries = new NodeCache(dir).list();
  return { entries, bytes: entries.reduce((a, e) => a + e.bytes, 0) };
}
