import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, parse, relative, resolve } from 'node:path';
import { UserError } from '../errors.js';

/** Files whose presence marks a directory as one e3 wrote (a checkpoint export or a run directory). */
export const E3_MARKERS = ['e3_pruning.json', 'run.json'] as const;

/** A directory that an output must never replace nor contain: e.g. the run or the source model. */
export interface ProtectedDir {
  readonly path: string;
  /** How messages name it: "the run directory", "the source model". */
  readonly what: string;
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

function hasMarker(dir: string): boolean {
  return E3_MARKERS.some((m) => existsSync(join(dir, m)));
}

/**
 * Refuses, with a message that says why and what to do, any output that would replace what
 * the user did not ask to replace: the working directory, the file system root, the home
 * directory, a protected directory or one of its ancestors, a file, and an existing non-empty
 * directory unless it is e3's own (a marker inside) and either `force` is set or it lies
 * below `ownedBelow`. A missing or empty directory is always fine.
 * Returns whether the target exists (non-empty) and will be replaced.
 */
export function checkReplaceable(target: string, guard: OutputGuard): boolean {
  const out = canonicalPath(target);
  const fixed: ProtectedDir[] = [
    { path: process.cwd(), what: 'the working directory' },
    { path: parse(out).root, what: 'the file system root' },
    { path: homedir(), what: 'your home directory' },
  ];
  for (const p of [...fixed, ...(guard.protect ?? [])]) {
    const prot = canonicalPath(p.path);
    if (isWithin(prot, out)) {
      const how = prot === out ? `is ${p.what}` : `contains ${p.what} (${prot})`;
      throw new UserError(`${guard.what} ${out} ${how}; e3 never writes an output over it. ` +
        `Choose a new directory${guard.hint ? ` (${guard.hint})` : ''}`);
    }
  }
  if (!existsSync(out)) return false;
  if (!statSync(out).isDirectory()) {
    throw new UserError(`${guard.what} ${out} is a file, not a directory; remove it or choose another path`);
  }
  if (readdirSync(out).length === 0) return false;
  const ours = hasMarker(out);
  if (ours && guard.ownedBelow && isWithin(out, canonicalPath(guard.ownedBelow))) return true;
  if (!guard.force) {
    throw new UserError(`${guard.what} ${out} already exists; choose another directory, or pass --force ` +
      '(force: true) to replace it (e3 replaces only directories it wrote)');
  }
  if (!ours) {
    throw new UserError(`${guard.what} ${out} is not empty and e3 did not write it (no ${E3_MARKERS.join(' or ')} ` +
      'inside), so even with force it is left alone; move it away or choose another directory');
  }
  return true;
}
