import { inject, injectable } from 'inversify';
import {
  LOGGER, once, PROGRESS, RNG,
  type GraphNode, type Logger, type NodeContext, type PluginManifest, type Progress, type Rng,
} from '@e3/core';
import type { Dataset } from '../data/dataset.js';
import type { LayerImportance } from '../importance/importance.js';
import type { ModelHandle } from '../model/handle.js';
import { calibrationSchema, finishMask, trackMasks, withCalibration, type CalibrationParams } from './masker-common.js';
import { keepCount, type PruneAmount } from './prune-amount.js';

interface Params extends CalibrationParams, PruneAmount { score: LayerImportance }

/** `masker.importance`: a training-free baseline masker (block influence, angular, SLEB, KL-drop, last-n, random). */
@injectable()
export class ImportanceMaskerNode implements GraphNode<Params> {
  constructor(
    @inject(RNG) private readonly rng: Rng, @inject(LOGGER) private readonly log: Logger,
    @inject(PROGRESS) private readonly progress: Progress,
  ) {}

  connect(inputs: Record<string, any>, p: Params, node: NodeContext) {
    return {
      mask: once(inputs, ['model', 'data'], async ({ model, data }: { model: ModelHandle; data: Dataset }) => {
        const t0 = performance.now();
        const keep = keepCount(p, model.model.numLayers, `importance.${p.score.name}`);
        return withCalibration(model, data, p, async (ctx) => {
          const total = p.score.evaluations?.(model.model.numLayers, keep, 'select');
          const { mask, scores } = await trackMasks(ctx, this.progress, node.id, total, `${p.score.name} scores`,
            () => p.score.select(ctx, keep, this.rng));
          const r = await finishMask(ctx, p.score.name, mask, t0, { scores });
          this.log.info(`${p.score.name}: removes layers ${(r.details!.removed as number[]).join(',')} (calibration KL ${(r.details!.calibrationKl as number).toFixed(4)})`);
          return r;
        });
      }),
    };
  }
}

export const importanceMaskerManifest: PluginManifest = {
  key: 'masker.importance',
  doc: 'Chooses the layers to keep with a training-free importance score (a baseline to the search).',
  inputs: { model: { type: 'Model' }, data: { type: 'Dataset' } },
  outputs: { mask: { type: 'Mask' } },
  params: { type: 'object', additionalProperties: false, properties: { ...calibrationSchema, score: { 'x-component': 'importance', default: { component: 'importance.blockInfluence' } } } },
  node: ImportanceMaskerNode,
};
