import { existsSync, readFileSync } from 'node:fs';
import { checkSchema, displayPath, formatPath, GraphError, type JsonSchema } from '@e3/core';

/**
 * A JSON file that e3 wrote and reads back (run.json, sweep.json, report.json), checked against
 * the schema of the fields e3 reads: a missing file is `undefined`; a file that does not parse,
 * or whose fields have the wrong type, is a GraphError naming the file and each field, with `fix`.
 */
export function readRecordedJson(file: string, schema: JsonSchema, fix: string): Record<string, unknown> | undefined {
  if (!existsSync(file)) return undefined;
  const shown = displayPath(file);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    throw new GraphError([{ file: shown, message: `not valid JSON (${why})`, fix }], shown);
  }
  const problems = checkSchema(schema, value);
  if (problems.length) {
    throw new GraphError(
      problems.slice(0, 8).map((p) => ({
        file: shown,
        field: formatPath(p.path) || undefined,
        message: p.message,
        fix,
      })),
      shown,
    );
  }
  return value as Record<string, unknown>;
}

const count = { type: 'integer', minimum: 0 };

/** The fields of run.json that sweeps and compare read. */
export const RUN_JSON_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['status'],
  properties: {
    status: { type: 'string', minLength: 1 },
    attempt: { type: 'integer', minimum: 1 },
    seed: { ...count, maximum: 4294967295 },
    wallSeconds: { type: 'number', minimum: 0 },
    error: { type: 'string' },
    graph: { type: 'string' },
    dir: { type: 'string' },
    sets: { type: 'array', items: { type: 'string' } },
    backend: { type: 'string' },
  },
};

/** How to recover from a broken run.json of the run in `dir`. */
export function runJsonFix(dir: string): string {
  return (
    `e3 writes run.json; restore it, or delete the run directory ${displayPath(dir)} ` +
    '(e3 sweep then runs the point again)'
  );
}
