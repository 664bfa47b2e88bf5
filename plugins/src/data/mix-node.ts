import { injectable } from 'inversify';
import { once, type GraphNode, type PluginManifest } from '@e3/core';
import type { PortInputs, Ports } from '../ports.js';
import { mixDatasets } from './mix.js';

const inputs = { a: { type: 'Dataset' }, b: { type: 'Dataset' } } as const satisfies Ports;

/** `data.mix`: two datasets mixed by weight. */
@injectable()
export class MixNode implements GraphNode<{ weight: number }> {
  connect(ports: PortInputs<typeof inputs>, p: { weight: number }) {
    return { data: once(ports, ['a', 'b'], ({ a, b }) => mixDatasets(a, b, p.weight)) };
  }
}

export const mixManifest: PluginManifest = {
  key: 'data.mix',
  doc: 'Mixes two datasets: each batch takes a `weight` share from a and the rest from b.',
  inputs,
  outputs: { data: { type: 'Dataset' } },
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      weight: { type: 'number', minimum: 0, maximum: 1, default: 0.5, description: 'share of each batch drawn from a' },
    },
  },
  node: MixNode,
};
