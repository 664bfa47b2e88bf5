import { lstatSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';

/** What a user-named input path must be. */
export type PathKind = 'file' | 'dir';

/** Why a path is not usable, and how to fix it: `reason` reads after the path's name. */
export interface PathProblem {
  readonly reason: string;
  readonly fix: string;
  /** Nothing at all is at the path (not even a dangling symlink). */
  readonly missing?: boolean;
}

const NOUN: Record<PathKind, string> = { file: 'a file', dir: 'a directory' };
const NOT_FOUND_FIX = 'check the path; relative paths start at the working directory';
const MISSING: PathProblem = { reason: 'not found', fix: NOT_FOUND_FIX, missing: true };

/**
 * Stats a path a user named (a graph, a checkpoint directory, a prompts file) and says
 * what is wrong with it as an input of `kind`: missing, of the other kind, a symlink
 * loop, not accessible. Undefined when it is usable.
 */
export function pathProblem(path: string, kind: PathKind): PathProblem | undefined {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (e) {
    return statFailure(path, (e as NodeJS.ErrnoException).code);
  }
  const isKind = kind === 'dir' ? stats.isDirectory() : stats.isFile();
  if (isKind) return undefined;
  const actual = stats.isDirectory() ? 'a directory' : stats.isFile() ? 'a file' : 'not a regular file or directory';
  return { reason: `is ${actual}, not ${NOUN[kind]}`, fix: `give the path of ${NOUN[kind]}` };
}

function statFailure(path: string, code: string | undefined): PathProblem {
  switch (code) {
    case 'ENOENT':
      return danglingLink(path) ?? MISSING;
    case 'ENOTDIR':
      return { reason: 'not found: a parent in the path is a file, not a directory', fix: NOT_FOUND_FIX };
    case 'ELOOP':
      return { reason: 'cannot be opened: symlink loop', fix: `fix or remove the symlink (ls -l ${path} shows where it points)` };
    case 'EACCES':
    case 'EPERM':
      return { reason: 'is not accessible: permission denied', fix: 'check its permissions and those of its parent directories' };
    case 'ENAMETOOLONG':
      return { reason: 'cannot be opened: the name is too long', fix: NOT_FOUND_FIX };
    default:
      return { reason: `cannot be opened (${code ?? 'unknown error'})`, fix: NOT_FOUND_FIX };
  }
}

/** A symlink whose target is missing: stat says ENOENT, lstat finds the link itself. */
function danglingLink(path: string): PathProblem | undefined {
  try {
    if (!lstatSync(path).isSymbolicLink()) return undefined;
    return { reason: `not found: it is a symlink to ${readlinkSync(path)}, which does not exist`, fix: 'fix the symlink' };
  } catch {
    return undefined;
  }
}

/** `path: what reason (fix: …)`, the one-line form of a path problem. */
export function pathMessage(path: string, what: string, p: PathProblem): string {
  return `${path}: ${what} ${p.reason} (fix: ${p.fix})`;
}

/** Throws a UserError naming `path` and `what` it should be unless it is an existing `kind`. */
export function requirePath(path: string, kind: PathKind, what: string): void {
  const p = pathProblem(path, kind);
  if (p) throw new UserError(pathMessage(path, what, p));
}

/**
 * For optional inputs: false when nothing is at `path`, true when it is a `kind`;
 * anything else there (the other kind, a symlink loop, a dangling symlink) is a UserError.
 */
export function optionalPath(path: string, kind: PathKind, what: string): boolean {
  const p = pathProblem(path, kind);
  if (p?.missing) return false;
  if (p) throw new UserError(pathMessage(path, what, p));
  return true;
}

/**
 * How a params schema marks a string as an input path that must exist (`x-path`, checked at
 * validation): a file, or a directory, optionally one holding the named files.
 * @example { type: 'string', 'x-path': { kind: 'dir', contains: ['config.json'] } }
 */
export interface PathSpec {
  readonly kind: PathKind;
  readonly contains?: readonly string[];
}

/** {@link pathProblem} for a {@link PathSpec}: the path, then each file it must contain. */
export function pathSpecProblem(path: string, spec: PathSpec): PathProblem | undefined {
  const own = pathProblem(path, spec.kind);
  if (own) return own;
  for (const name of spec.contains ?? []) {
    const p = pathProblem(join(path, name), 'file');
    if (p?.missing) return { reason: `has no ${name}`, fix: `give a directory that holds ${name}` };
    if (p) return { reason: `holds ${name}, which ${p.reason}`, fix: p.fix };
  }
  return undefined;
}
