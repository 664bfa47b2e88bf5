import { inject, injectable, type Newable } from 'inversify';
import { once, RNG, type GraphNode, type NodeContext, type Rng } from '@e3/core';
import type { Dataset } from './dataset.js';

/**
 * The node class of a dataset made from params and the node's RNG alone (no inputs): its one
 * output `data` carries `make(params, rng, nodeId)`.
 */
export function seededDatasetNode<P>(make: (p: P, rng: Rng, node: string) => Dataset): Newable<GraphNode<P>> {
  @injectable()
  class SeededDatasetNode implements GraphNode<P> {
    constructor(@inject(RNG) private readonly rng: Rng) {}

    connect(_ports: Record<string, never>, p: P, ctx: NodeContext) {
      return { data: once({}, [], () => make(p, this.rng, ctx.id)) };
    }
  }
  return SeededDatasetNode;
}
