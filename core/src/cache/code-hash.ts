import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../services/artifact-store.js';
import { readJsonObject } from '../services/output-guard.js';
import { sha256OfFile, type FileHasher } from './file-hashes.js';

/** e3's root directory (core/dist/cache → ../../..). */
const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..');
/**
 * e3's own packages whose code nodes run on: the runtime, the kernels, the plugins and the figures
 * that the report node draws with. The command line (cli) runs no node and does not count.
 */
export const BUILT_IN_PACKAGES: readonly string[] = ['native', 'core', 'plots', 'plugins'];
/** Written by `npm run build` into each built-in package's dist/ (see writeCodeHash). */
export const CODE_HASH_FILE = 'code-hash.json';
/** The files of an external plugin's folder that count as its code. */
const CODE_FILE = /\.(?:[cm]?[jt]s|[jt]sx|json|node|wasm)$/;

/** What a built-in package runs: its compiled JavaScript, native addons and package.json. */
function runtimeFiles(pkg: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const d of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, d.name);
      if (d.isDirectory()) walk(path);
      else if (/\.(?:js|node)$/.test(d.name)) out.push(path);
    }
  };
  walk(join(pkg, 'dist'));
  walk(join(pkg, 'build'));
  return [join(pkg, 'package.json'), ...out];
}

/** Names, sizes and mtimes: equal signatures mean the files were not rebuilt since the hash was written. */
function signature(pkg: string, files: string[]): string {
  const h = createHash('sha256');
  for (const f of files) {
    const s = statSync(f, { bigint: true });
    h.update(`${relative(pkg, f)}\0${s.size}\0${s.mtimeNs}\n`);
  }
  return h.digest('hex');
}

function contentHash(pkg: string, files: string[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(`${relative(pkg, f)}\0${sha256OfFile(f)}\n`);
  return h.digest('hex');
}

/** Writes `<pkg>/dist/code-hash.json` (run by `npm run build` after tsc, for each of BUILT_IN_PACKAGES). */
export function writeCodeHash(pkg: string): string {
  const files = runtimeFiles(pkg);
  const record = { format: 1, sha256: contentHash(pkg, files), files: files.length, signature: signature(pkg, files) };
  return writeFileAtomic(join(pkg, 'dist', CODE_HASH_FILE), JSON.stringify(record, null, 2) + '\n');
}

/** A built-in package's code hash: the build's record while it matches the files, else hashed now. */
export function packageCodeHash(pkg: string): string {
  const files = runtimeFiles(pkg);
  const record = readJsonObject(join(pkg, 'dist', CODE_HASH_FILE));
  if (typeof record?.sha256 === 'string' && record.signature === signature(pkg, files)) return record.sha256;
  return contentHash(pkg, files); // built without the record (plain tsc -b) or rebuilt since: the files decide
}

let builtIn: string | undefined;

/**
 * The code of e3 itself: its packages' runtime files (BUILT_IN_PACKAGES) and the lock file that pins their
 * dependencies (tfjs and the rest). Any rebuild that changes a byte changes it; the version
 * string does not count.
 */
export function builtInCodeHash(): string {
  if (builtIn) return builtIn;
  const h = createHash('sha256');
  for (const pkg of BUILT_IN_PACKAGES) h.update(`${pkg}\0${packageCodeHash(join(ROOT, pkg))}\n`);
  const lock = join(ROOT, 'package-lock.json');
  if (existsSync(lock)) h.update(`package-lock.json\0${sha256OfFile(lock)}\n`);
  builtIn = h.digest('hex');
  return builtIn;
}

/** Whether a path is e3's own code (its built-in packages), which {@link builtInCodeHash} covers. */
export function isBuiltInCode(path: string): boolean {
  return BUILT_IN_PACKAGES.some((pkg) => {
    const rel = relative(join(ROOT, pkg), path);
    return !rel.startsWith('..') && !isAbsolute(rel);
  });
}

/**
 * The folder whose files are an external plugin module's code: its package (the nearest folder
 * with a package.json), or the module's own folder when that package is e3's root or a parent
 * of it (a plugin file dropped into a project, e.g. examples/dist/…).
 */
export function pluginPackageDir(moduleFile: string): string {
  const own = dirname(moduleFile);
  for (let dir = own; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) {
      const rel = relative(dir, ROOT);
      return rel === '' || !rel.startsWith('..') ? own : dir;
    }
    if (dirname(dir) === dir) return own;
  }
}

/** The hash of an external plugin's code: every code file (js, ts, json, node, wasm) of its folder, by content. */
export function pluginCodeHash(moduleFile: string, hasher: FileHasher): string {
  const files = hasher.dir(pluginPackageDir(moduleFile), (name) => CODE_FILE.test(name));
  return createHash('sha256').update(JSON.stringify(files)).digest('hex');
}
