import { fstatSync, openSync, closeSync } from 'node:fs';
import { UserError } from './errors.js';

/** What each errno means for a path the user named. */
const EXPLAIN: Record<string, (path: string) => string> = {
  ENOENT: (p) => `\`${p}\` not found (relative paths start at the working directory, ${process.cwd()})`,
  EISDIR: (p) => `\`${p}\` is a directory`,
  ELOOP: (p) => `\`${p}\` is a symbolic link loop (the link resolves back to itself)`,
  EACCES: (p) => `\`${p}\` cannot be read: permission denied`,
  EPERM: (p) => `\`${p}\` cannot be read: operation not permitted`,
  ENOTDIR: (p) => `\`${p}\`: a part of the path before the file name is a file, not a directory`,
};

/**
 * A UserError for a file system error on a path the user named: "`x` is a directory; <need>"
 * rather than a bare errno. `need` says what was expected ("data.jsonl needs a JSONL file").
 * Errors with no errno (bugs) are returned unchanged.
 */
export function explainFileError(e: unknown, path: string, need: string): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (!code) return e;
  const what = EXPLAIN[code]?.(path) ?? `\`${path}\` cannot be opened (${code})`;
  return new UserError(`${what}; ${need}`);
}

/** Opens a user-named regular file for reading (a directory is refused too); errors explained by explainFileError. */
export function openUserFile(path: string, need: string): number {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch (e) { throw explainFileError(e, path, need); }
  if (fstatSync(fd).isDirectory()) {
    closeSync(fd);
    throw explainFileError(Object.assign(new Error('EISDIR'), { code: 'EISDIR' }), path, need);
  }
  return fd;
}
