import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What a node's cache key covers beyond its spec: the content its params point at, and the code that runs it. */
export interface NodeContent {
  /** Param (e.g. `path`, `loss[0].file`) → sha256 of the file, or of a directory's listing of file hashes. */
  readonly files: Record<string, string>;
  /** e3's own packages, and each external plugin package that provides the plugin or one of its components. */
  readonly code: { readonly e3: string; readonly plugins: readonly string[] };
}

/** What an entry records beside its outputs. */
export interface CacheEntryMeta {
  readonly key: string;
  readonly plugin: string;
  /** The node id in the run that computed it, and that run's directory. */
  readonly node: string;
  readonly run: string;
  readonly createdAt: string;
  readonly version: string;
  /** The file and code hashes in the key (runtime/cache-keys.ts), for `e3 cache ls --json`. */
  readonly content?: NodeContent;
}

/** meta.json as stored: the record plus the hash of outputs.json, checked before every use. */
export interface StoredMeta extends CacheEntryMeta {
  readonly format: number;
  readonly outputsSha256: string;
}

export const OUTPUTS = 'outputs.json';
export const META = 'meta.json';
/**
 * The file that says e3 wrote a directory under `<cache>/nodes/`; written first, so a half-written
 * entry has it too. `e3 cache gc` removes nothing without it.
 */
export const ENTRY_MARKER = 'e3-cache-entry';
export const ENTRY_FORMAT = 2;
const TEXT_FIELDS = ['key', 'plugin', 'node', 'run', 'createdAt', 'version', 'outputsSha256'] as const;

export type EntryCheck =
  | { readonly ok: true; readonly meta: StoredMeta; readonly outputs: Record<string, unknown[]> }
  | { readonly ok: false; readonly reason: string };

export const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const short = (hash: string) => `${hash.slice(0, 12)}…`;

function parseJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why meta.json is not an entry record of key `name`, or undefined when it is one. */
function metaProblem(meta: unknown, name: string): string | undefined {
  if (!isObject(meta)) return 'meta.json is missing, not valid JSON or not an object';
  const bad = TEXT_FIELDS.filter((f) => typeof meta[f] !== 'string');
  if (bad.length) return `meta.json lacks ${bad.join(', ')} (or they are not strings)`;
  if (meta.key !== name) {
    const why = 'an entry directory was renamed or swapped';
    return `it holds the entry of key ${meta.key} (meta.json), not of ${name}: ${why}`;
  }
  return undefined;
}

/**
 * Checks a marked entry directory `dir` named `name` (its key): meta.json is a whole record of
 * that key and outputs.json has exactly the bytes it recorded. A tampered, truncated or swapped
 * entry fails, with the reason.
 */
export function checkEntry(dir: string, name: string): EntryCheck {
  try {
    return checkReadable(dir, name);
  } catch (e) {
    return { ok: false, reason: `it cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
}

function checkReadable(dir: string, name: string): EntryCheck {
  const meta = parseJson(join(dir, META));
  const problem = metaProblem(meta, name);
  if (problem) return { ok: false, reason: problem };
  const stored = meta as unknown as StoredMeta;
  if (!existsSync(join(dir, OUTPUTS))) return { ok: false, reason: 'outputs.json is missing' };
  const bytes = readFileSync(join(dir, OUTPUTS));
  const now = sha256(bytes);
  if (now !== stored.outputsSha256) {
    return {
      ok: false,
      reason:
        `outputs.json differs from what was stored (sha256 ${short(stored.outputsSha256)} recorded, ` +
        `${short(now)} now): edited or truncated`,
    };
  }
  let outputs: unknown;
  try {
    outputs = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { ok: false, reason: 'outputs.json is not valid JSON' };
  }
  if (!isObject(outputs) || !Object.values(outputs).every(Array.isArray)) {
    return { ok: false, reason: 'outputs.json is not an object of value lists per port' };
  }
  return { ok: true, meta: stored, outputs: outputs as Record<string, unknown[]> };
}

/** Directories an older e3 wrote (meta.json and outputs.json, no marker): named in listings as such. */
export function looksLikeOlderEntry(dir: string, name: string): boolean {
  return /^[0-9a-f]{16}$/.test(name) && existsSync(join(dir, OUTPUTS)) && isObject(parseJson(join(dir, META)));
}
