import { injectable } from 'inversify';
import { once, UserError, type GraphNode, type PluginManifest } from '@e3/core';
import { removedLayers, type LayerMaskResult } from '../model/layer-mask.js';
import type { PortInputs, Ports } from '../ports.js';

interface Params {
  drop?: number[];
  keep?: number[];
}

const inputs = { model: { type: 'Model' } } as const satisfies Ports;

/** `masker.fixed`: an explicit list of layers to drop (or keep). */
@injectable()
export class FixedMaskerNode implements GraphNode<Params> {
  connect(ports: PortInputs<typeof inputs>, p: Params) {
    return {
      mask: once(ports, ['model'], ({ model }): LayerMaskResult => {
        const L = model.model.numLayers;
        if (Boolean(p.drop) === Boolean(p.keep))
          throw new UserError('masker.fixed: give exactly one of params.drop or params.keep');
        const list = (p.drop ?? p.keep)!;
        const bad = list.filter((i) => i >= L);
        if (bad.length)
          throw new UserError(`masker.fixed: layer(s) ${bad.join(', ')} do not exist (layers 0..${L - 1})`);
        const mask = Array.from({ length: L }, (_, i) => (list.includes(i) === Boolean(p.keep) ? 1 : 0));
        if (!mask.some(Boolean)) throw new UserError('masker.fixed: the mask removes every layer');
        const layers = [...model.model.source.keptLayers];
        return { mask, layers, method: 'fixed', details: { removed: removedLayers({ mask, layers }) } };
      }),
    };
  }
}

export const fixedMaskerManifest: PluginManifest = {
  key: 'masker.fixed',
  doc: 'An explicit mask: the layers to drop, or the layers to keep.',
  inputs,
  outputs: { mask: { type: 'Mask' } },
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      drop: {
        type: 'array',
        items: { type: 'integer', minimum: 0 },
        uniqueItems: true,
        description: 'layers to remove',
      },
      keep: {
        type: 'array',
        items: { type: 'integer', minimum: 0 },
        uniqueItems: true,
        minItems: 1,
        description: 'layers to keep',
      },
    },
  },
  deterministic: true,
  node: FixedMaskerNode,
};
