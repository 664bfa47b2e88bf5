import type { JsonSchema } from '@e3/core';

const SET_MAP = {
  type: 'object',
  propertyNames: { pattern: '^[A-Za-z_][\\w-]*(\\.[\\w-]+)*$' },
  description: 'dotted graph paths (as for --set) to values',
};

/** The JSON Schema of a sweep file (`e3 schemas` writes it to schemas/sweep.schema.json). */
export const SWEEP_SCHEMA: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://e3-pruner/schemas/sweep.schema.json',
  title: 'e3-pruner sweep',
  description: 'Runs of one graph over a grid of --set values, named overlays and seeds (e3 sweep FILE).',
  type: 'object',
  required: ['apiVersion', 'kind', 'graph'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'e3/v1', description: 'Format version.' },
    kind: { const: 'Sweep', description: 'Marks the file as a sweep (a graph has no kind).' },
    graph: { type: 'string', minLength: 1, description: 'The base graph, relative to this file or absolute.' },
    set: {
      ...SET_MAP,
      default: {},
      description: 'Fixed for every point: dotted graph paths (as for --set) to values.',
    },
    grid: {
      ...SET_MAP,
      default: {},
      additionalProperties: { type: 'array', minItems: 1 },
      description: 'The cartesian product of these values: dotted graph path → list of values.',
    },
    overlays: {
      type: 'array',
      minItems: 1,
      description: 'Named bundles of --set values; every point runs once per overlay (times the grid).',
      items: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: {
          name: {
            type: 'string',
            pattern: '^[A-Za-z0-9_.-]+$',
            description: 'Names the overlay in run directories and tables.',
          },
          graph: {
            type: 'string',
            minLength: 1,
            description: "This overlay's graph instead of the sweep's (relative to this file).",
          },
          set: { ...SET_MAP, default: {} },
          seeds: {
            type: 'array',
            minItems: 1,
            uniqueItems: true,
            items: { type: 'integer', minimum: 0, maximum: 4294967295 },
            description: "This overlay's seeds instead of the sweep's (e.g. one for a seed-free baseline).",
          },
        },
      },
    },
    seeds: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      default: [0],
      items: { type: 'integer', minimum: 0, maximum: 4294967295 },
      description: 'Each point runs once per seed (--seed); tables average over them.',
    },
    cache: {
      type: 'string',
      minLength: 1,
      description:
        'Node cache directory, relative to the sweep directory or absolute (default: cache in the sweep directory).',
    },
  },
};
