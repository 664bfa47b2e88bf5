import { readFileSync } from 'node:fs';
import { requirePath, UserError } from '@e3/core';

/** Reads a JSON object file, with errors that name it. */
export function readJsonFile(file: string, what: string): Record<string, unknown> {
  requirePath(file, 'file', what);
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UserError(`${file}: expected a JSON object`);
  return v as Record<string, unknown>;
}
