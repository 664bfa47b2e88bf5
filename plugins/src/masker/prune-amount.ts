import { UserError } from '@e3/core';

/** How many layers to remove: a ratio of L, or an explicit count. */
export interface PruneAmount {
  pruneRatio: number;
  pruneLayers?: number;
}

export const pruneAmountSchema = {
  pruneRatio: {
    type: 'number',
    minimum: 0,
    exclusiveMaximum: 1,
    default: 0.25,
    description: 'fraction of layers to remove (rounded)',
  },
  pruneLayers: { type: 'integer', minimum: 0, description: 'number of layers to remove (overrides pruneRatio)' },
};

/** K, the number of layers kept. */
export function keepCount(p: PruneAmount, numLayers: number, who: string): number {
  const remove = p.pruneLayers ?? Math.round(p.pruneRatio * numLayers);
  if (remove >= numLayers)
    throw new UserError(`${who}: cannot remove ${remove} of ${numLayers} layers; at least one must stay`);
  return numLayers - remove;
}
