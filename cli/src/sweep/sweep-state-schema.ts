import type { JsonSchema } from '@e3/core';

const STRING = { type: 'string', minLength: 1 };

/**
 * The fields of sweep.json that `e3 sweep` (to continue), `e3 sweep --status` and `e3 compare`
 * read: a point's `dir` is relative, inside the sweep directory.
 */
export const SWEEP_STATE_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['kind', 'id', 'sweepFile', 'graph', 'swept', 'cache', 'points'],
  properties: {
    kind: { const: 'SweepState' },
    id: STRING,
    sweepFile: STRING,
    graph: STRING,
    swept: { type: 'array', items: STRING },
    cache: STRING,
    graphs: { type: 'object', additionalProperties: { type: 'object' } },
    points: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'dir', 'settings', 'seed', 'sets'],
        properties: {
          id: STRING,
          dir: STRING,
          settings: { type: 'object' },
          seed: { type: 'integer', minimum: 0, maximum: 4294967295 },
          sets: { type: 'array', items: { type: 'string' } },
          graph: STRING,
          content: STRING,
        },
      },
    },
  },
};
