import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { JsonSchema } from '../registry/manifest.js';

/**
 * The graph's own JSON Schema (`schemas/graph-core.schema.json`, written by hand): the shape of a
 * merged graph. Params are checked per plugin (validate.ts); `e3 schemas` generates graph.schema.json
 * from both for editors.
 */
export const GRAPH_SCHEMA: JsonSchema = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../schemas/graph-core.schema.json', import.meta.url)), 'utf8'),
);
