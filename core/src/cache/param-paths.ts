import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { JsonSchema } from '../registry/manifest.js';
import type { Registry } from '../registry/registry.js';
import type { PathKind } from '../services/user-paths.js';

/** A param that names a file or directory on disk: where it is in the params, its value and what it names. */
export interface ParamPath {
  readonly param: string;
  readonly path: string;
  readonly kind: PathKind;
}

const LONGEST_PATH = 4096;

/** What a string names relative to the working directory (where e3 resolves params), if anything. */
function existingKind(value: string): PathKind | undefined {
  if (!value || value.length > LONGEST_PATH || value.includes('\n')) return undefined;
  try {
    const s = statSync(resolve(value));
    return s.isFile() ? 'file' : s.isDirectory() ? 'dir' : undefined;
  } catch {
    return undefined;
  }
}

const schemaAt = (s: JsonSchema | undefined, key: string | number): JsonSchema | undefined => {
  if (!s) return undefined;
  if (typeof key === 'number') return s.items as JsonSchema | undefined;
  const props = s.properties as Record<string, JsonSchema> | undefined;
  return (
    props?.[key] ?? (typeof s.additionalProperties === 'object' ? (s.additionalProperties as JsonSchema) : undefined)
  );
};

/**
 * The files and directories a node's params point at, which its cache key hashes by content:
 * - every string its params schema marks `x-path` (a checkpoint, a data file, a tokenizer
 *   directory), inside components too, as the kind the schema says;
 * - every other string that names an existing regular file (a data file of a plugin that does
 *   not mark its paths). Unmarked directories are not hashed: they are as often outputs (an
 *   export, the teacher cache) that the run itself writes into.
 */
export function paramPaths(params: unknown, schema: JsonSchema, registry: Registry): ParamPath[] {
  const out: ParamPath[] = [];
  const walk = (v: unknown, s: JsonSchema | undefined, at: string) => {
    if (typeof v === 'string') {
      const marked = (s?.['x-path'] as { kind?: PathKind } | undefined)?.kind;
      const found = existingKind(v);
      if (found && (marked === found || found === 'file')) out.push({ param: at, path: v, kind: found });
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, schemaAt(s, i), `${at}[${i}]`));
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    const component = (v as { component?: unknown }).component;
    const own = typeof component === 'string' ? (registry.components.get(component)?.params ?? s) : s;
    for (const [k, x] of Object.entries(v)) walk(x, schemaAt(own, k), at ? `${at}.${k}` : k);
  };
  walk(params, schema, '');
  return out;
}
