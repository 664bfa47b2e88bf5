import { inject, injectable } from 'inversify';
import { LOGGER, once, UserError, type GraphNode, type Logger, type NodeContext, type PluginManifest } from '@e3/core';
import { cloneHandle } from './handle.js';
import type { PortInputs, Ports } from '../ports.js';

interface Params {
  drop?: number[];
}

/** Keeps the layers whose mask value is 1; checks the mask fits the model. */
export function keptLayers(mask: readonly number[], numLayers: number, who: string): number[] {
  if (mask.length !== numLayers)
    throw new UserError(`${who}: mask has ${mask.length} entries but the model has ${numLayers} layers`);
  const kept = mask.flatMap((m, i) => (m ? [i] : []));
  if (kept.length === 0) throw new UserError(`${who}: the mask removes every layer`);
  return kept;
}

const inputs = {
  model: { type: 'Model' },
  mask: { type: 'Mask', optional: true, doc: 'from a masker; or use params.drop' },
} as const satisfies Ports;

/** `model.prune`: a new model with the masked-out (or listed) blocks removed and the rest renumbered. */
@injectable()
export class PruneNode implements GraphNode<Params> {
  constructor(@inject(LOGGER) private readonly log: Logger) {}

  connect(ports: PortInputs<typeof inputs>, p: Params, ctx: NodeContext) {
    return {
      model: once(ports, ['model', 'mask'], ({ model, mask }) => {
        const L = model.model.numLayers;
        if (!mask && !p.drop) throw new UserError(`node "${ctx.id}": give either a mask input or params.drop`);
        if (mask && p.drop) throw new UserError(`node "${ctx.id}": give a mask input or params.drop, not both`);
        const bad = (p.drop ?? []).filter((i) => i >= L);
        if (bad.length)
          throw new UserError(
            `node "${ctx.id}": params.drop names layer(s) ${bad.join(', ')} but the model has layers 0..${L - 1}`,
          );
        const m = mask ? mask.mask : [...Array(L).keys()].map((i) => (p.drop!.includes(i) ? 0 : 1));
        const kept = keptLayers(m, L, `node "${ctx.id}"`);
        // Layers are named as the original model numbers them (this model may be pruned already).
        const orig = model.model.source.keptLayers;
        const removed = orig.filter((_, i) => !kept.includes(i));
        const of =
          orig.length === model.model.source.originalLayers
            ? ''
            : `; the original had ${model.model.source.originalLayers}`;
        this.log.info(
          `pruned ${L - kept.length} of ${L} layers (${mask?.method ?? 'explicit list'}${of}): ` +
            `removed layer ${removed.join(',')}, kept ${kept.map((i) => orig[i]).join(',')}`,
        );
        return cloneHandle(model, kept, ctx.id);
      }),
    };
  }
}

export const pruneManifest: PluginManifest = {
  key: 'model.prune',
  doc: 'Removes whole decoder blocks (from a mask input or an explicit drop list) and renumbers the rest.',
  inputs,
  outputs: { model: { type: 'Model', doc: 'the pruned copy' } },
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      drop: {
        type: 'array',
        items: { type: 'integer', minimum: 0 },
        uniqueItems: true,
        minItems: 1,
        description: 'layer indices to remove (instead of a mask input)',
      },
    },
  },
  node: PruneNode,
};
