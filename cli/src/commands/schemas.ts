import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { componentSchema, RUN_REPORT_SCHEMA, type Registry } from '@e3/core';
import { SWEEP_SCHEMA } from '../sweep/sweep-schema.js';
import { editorGraphSchema } from './editor-schema.js';

/**
 * Writes one JSON Schema file per plugin (`plugins/<key>.json`) and component
 * (`components/<key>.json`) under `dir`, so editors and other tools can validate params, and
 * `graph.schema.json`, the whole graph with each plugin's params, for editors.
 * With `check`, writes nothing and returns the files that differ.
 */
export function writeSchemas(registry: Registry, dir: string, check = false): string[] {
  const files = new Map<string, string>();
  files.set(join(dir, 'graph.schema.json'), JSON.stringify(editorGraphSchema(registry), null, 2) + '\n');
  for (const m of registry.plugins.values()) {
    files.set(
      join(dir, 'plugins', `${m.key}.json`),
      JSON.stringify(
        {
          $schema: 'http://json-schema.org/draft-07/schema#',
          title: `${m.key} params`,
          description: m.doc,
          inputs: m.inputs,
          outputs: m.outputs,
          ...m.params,
        },
        null,
        2,
      ) + '\n',
    );
  }
  for (const c of registry.components.values()) {
    files.set(
      join(dir, 'components', `${c.key}.json`),
      JSON.stringify(
        {
          $schema: 'http://json-schema.org/draft-07/schema#',
          title: `${c.key} (${c.kind} component)`,
          description: c.doc,
          ...componentSchema(c.params),
        },
        null,
        2,
      ) + '\n',
    );
  }
  files.set(join(dir, 'sweep.schema.json'), JSON.stringify(SWEEP_SCHEMA, null, 2) + '\n');
  files.set(join(dir, 'run-report.schema.json'), JSON.stringify(RUN_REPORT_SCHEMA, null, 2) + '\n');
  const stale: string[] = [];
  for (const [file, text] of files) {
    if (check) {
      if (!existsSync(file) || readFileSync(file, 'utf8') !== text) stale.push(file);
      continue;
    }
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, text);
  }
  return stale;
}
