import { lstatSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';

/** What a user-named input path must be. */
export type PathKind = 'file' | 'dir';

/**
 * Why a path is not usable, and how to fix it; `reason` reads after the path's name.
 * `cause`: nothing there (`missing`), the other kind (`kind`), or it cannot be opened (`open`:
 * a symlink loop, a dangling symlink, a file as a parent, no permission).
 */
export interface PathProblem {
  readonly cause: 'missing' | 'kind' | 'open';
  readonly reason: string;
  readonly fix: string;
}

const NOUN: Record<PathKind, string> = { file: 'a file', dir: 'a directory' };
const NOT_FOUND_FIX = 'check the path; relative paths start at the working directory';

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
  if (kind === 'dir' ? stats.isDirectory() : stats.isFile()) return undefined;
  const actual = stats.isDirectory() ? 'a directory' : stats.isFile() ? 'a file' : 'not a regular file or directory';
  return { cause: 'kind', reason: `is ${actual}, not ${NOUN[kind]}`, fix: `give the path of ${NOUN[kind]}` };
}

function statFailure(path: string, code: string | undefined): PathProblem {
  const open = (reason: string, fix = NOT_FOUND_FIX): PathProblem => ({ cause: 'open', reason, fix });
  switch (code) {
    case 'ENOENT':
      return danglingLink(path) ?? { cause: 'missing', reason: 'not found', fix: NOT_FOUND_FIX };
    case 'ENOTDIR':
      return open('not found: a parent in the path is a file, not a directory');
    case 'ELOOP':
      return open('cannot be opened: symlink loop', `fix or remove the symlink; ls -l ${path} shows where it points`);
    case 'EACCES':
    case 'EPERM':
      return open('is not accessible: permission denied', 'check its permissions and those of its parent directories');
    default:
      return open(`cannot be opened (${code ?? 'unknown error'})`);
  }
}

/** A symlink whose target is missing: stat says ENOENT, lstat finds the link itself. */
function danglingLink(path: string): PathProblem | undefined {
  try {
    if (!lstatSync(path).isSymbolicLink()) return undefined;
    const reason = `not found: it is a symlink to ${readlinkSync(path)}, which does not exist`;
    return { cause: 'open', reason, fix: 'fix the symlink' };
  } catch {
    return undefined;
  }
}

/**
 * Throws a UserError `path: what reason (fix: …)` unless `path` is an existing `kind`.
 * `fix`, when given, replaces the generic fix for a missing path or one of the other kind.
 */
export function requirePath(path: string, kind: PathKind, what: string, fix?: string): void {
  const p = pathProblem(path, kind);
  if (p) throw pathError(path, what, p, fix);
}

/**
 * For optional inputs: false when nothing is at `path`, true when it is a `kind`;
 * anything else there (the other kind, a symlink loop, a dangling symlink) is a UserError.
 */
export function optionalPath(path: string, kind: PathKind, what: string, fix?: string): boolean {
  const p = pathProblem(path, kind);
  if (p?.cause === 'missing') return false;
  if (p) throw pathError(path, what, p, fix);
  return true;
}

function pathError(path: string, what: string, p: PathProblem, fix?: string): UserError {
  return new UserError(`${path}: ${what} ${p.reason} (fix: ${fix && p.cause !== 'open' ? fix : p.fix})`);
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
    if (p?.cause === 'missing') {
      return { cause: 'missing', reason: `has no ${name}`, fix: `give a directory that holds ${name}` };
    }
    if (p) return { ...p, reason: `holds ${name}, which ${p.reason}` };
  }
  return undefined;
}
