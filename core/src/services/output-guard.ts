import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, parse, relative, resolve } from 'node:path';
import { UserError } from '../errors.js';

/** The file that marks a checkpoint directory as one e3 exported (the only kind e3 replaces). */
export const EXPORT_MARKER = 'e3_pruning.json';

/** A JSON object read from `file`, or undefined when it is missing, unreadable or not an object. */
export function readJsonObject(file: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** A checkpoint e3 exported: its e3_pruning.json parses and lists the kept layers. */
export function isE3Export(dir: string): boolean {
  return Array.isArray(readJsonObject(join(dir, EXPORT_MARKER))?.keptLayers);
}

/** A run directory e3 wrote: its run.json parses and records the e3 version. */
export function isE3RunDir(dir: string): boolean {
  const versions = readJsonObject(join(dir, 'run.json'))?.versions as Record<string, unknown> | undefined;
  return typeof versions?.e3 === 'string';
}

/** A directory that an output must never replace nor contain: e.g. the run or the source model. */
export interface ProtectedDir {
  readonly path: string;
  /** How messages name it: "the run directory", "the source model". */
  readonly what: string;
  /** Nothing may be written inside it either (a source model stays as it was). */
  readonly sealed?: boolean;
}

export interface OutputGuard {
  /** How messages name the output: "exporter.hf dir", "--out". */
  readonly what: string;
  /** The user asked to replace an existing directory (`force: true`, `--force`). */
  readonly force?: boolean;
  /** Directories the output may not be, nor be an ancestor of (the working directory is always one). */
  readonly protect?: readonly ProtectedDir[];
  /**
   * A directory inside which e3's own earlier outputs (holding a marker) are replaced without
   * `force`: the run directory, so a rerun or a resume rewrites its own export.
   */
  readonly ownedBelow?: string;
  /** Added to the refusal of a protected directory, e.g. where relative paths start. */
  readonly hint?: string;
}

/** The path with symbolic links resolved as far as it exists (so `a/../b` and links compare equal). */
export function canonicalPath(p: string): string {
  const abs = resolve(p);
  const tail: string[] = [];
  let head = abs;
  for (;;) {
    try {
      return join(realpathSync(head), ...tail.reverse());
    } catch {
      const up = dirname(head);
      if (up === head) return abs;
      tail.push(head.slice(up.length).replace(/^[/\\]/, ''));
      head = up;
    }
  }
}

/** True when `inner` is `outer` or lies below it. */
export function isWithin(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Refuses, with a message that says why and what to do, any output that would replace what
 * the user did not ask to replace: the working directory, the file system root, the home
 * directory, a protected directory or one of its ancestors (or anything inside a sealed one), a
 * file, a dangling symbolic link, and an existing non-empty directory unless it is an e3 export
 * ({@link isE3Export}) and either `force` is set or it lies below `ownedBelow`. A missing or
 * empty directory is always fine.
 */
export function checkReplaceable(target: string, guard: OutputGuard): void {
  const out = canonicalPath(target);
  const fixed: ProtectedDir[] = [
    { path: process.cwd(), what: 'the working directory' },
    { path: parse(out).root, what: 'the file system root' },
    { path: homedir(), what: 'your home directory' },
  ];
  for (const p of [...fixed, ...(guard.protect ?? [])]) {
    const prot = canonicalPath(p.path);
    if (isWithin(prot, out) || (p.sealed && isWithin(out, prot))) {
      const how =
        prot === out
          ? `is ${p.what}`
          : isWithin(prot, out)
            ? `contains ${p.what} (${prot})`
            : `is inside ${p.what} (${prot}), which e3 leaves as it is`;
      throw new UserError(
        `${guard.what} ${out} ${how}; e3 never writes an output over it. ` +
          `Choose a new directory${guard.hint ? ` (${guard.hint})` : ''}`,
      );
    }
  }
  if (!existsSync(out)) {
    if (!isLink(out)) return;
    throw new UserError(`${guard.what} ${out} is a symbolic link to a missing path; remove it or choose another path`);
  }
  if (!statSync(out).isDirectory()) {
    throw new UserError(`${guard.what} ${out} is a file, not a directory; remove it or choose another path`);
  }
  if (readdirSync(out).length === 0) return;
  const ours = isE3Export(out);
  if (ours && guard.ownedBelow && isWithin(out, canonicalPath(guard.ownedBelow))) return;
  if (!guard.force) {
    throw new UserError(
      `${guard.what} ${out} already exists; choose another directory, or pass --force ` +
        '(force: true) to replace it (e3 replaces only directories it wrote)',
    );
  }
  if (!ours) {
    throw new UserError(
      `${guard.what} ${out} is not empty and is not a checkpoint e3 exported (no ${EXPORT_MARKER} ` +
        'inside), so even with force it is left alone; move it away or choose another directory',
    );
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
