import { inject, injectable } from 'inversify';
import {
  LOGGER,
  once,
  PROGRESS,
  RNG,
  type GraphNode,
  type Logger,
  type NodeContext,
  type PluginManifest,
  type Progress,
  type Rng,
} from '@e3/core';
import type { LayerImportance } from '../importance/importance.js';
import { calibrationSchema, finishMask, trackMasks, withCalibration, type CalibrationParams } from './masker-common.js';
import { keepCount, type PruneAmount } from './prune-amount.js';
import type { PortInputs, Ports } from '../ports.js';

interface Params extends CalibrationParams, PruneAmount {
  score: LayerImportance;
}

const inputs = { model: { type: 'Model' }, data: { type: 'Dataset' } } as const satisfies Ports;

/** `masker.importance`: a training-free baseline masker (block influence, angular, SLEB, KL-drop, last-n, random). */
@injectable()
export class ImportanceMaskerNode implements GraphNode<Params> {
  constructor(
    @inject(RNG) private readonly rng: Rng,
    @inject(LOGGER) private readonly log: Logger,
    @inject(PROGRESS) private readonly progress: Progress,
  ) {}

  connect(ports: PortInputs<typeof inputs>, p: Params, node: NodeContext) {
    return {
      mask: once(ports, ['model', 'data'], async ({ model, data }) => {
        const t0 = performance.now();
        const keep = keepCount(p, model.model.numLayers, `importance.${p.score.name}`);
        return withCalibration(
          model,
          data,
          p,
          async (evaluator) => {
            const total = p.score.evaluations?.(model.model.numLayers, keep, 'select');
            const { mask, scores } = await trackMasks(
              evaluator,
              this.progress,
              { task: node.id, total, what: `${p.score.name} scores` },
              () => p.score.select(evaluator, keep, this.rng),
            );
            const r = await finishMask(evaluator, p.score.name, mask, t0, { scores });
            this.log.info(
              `${p.score.name}: removes layers ${(r.details!.removed as number[]).join(',')} (calibration KL ${(r.details!.calibrationKl as number).toFixed(4)})`,
            );
            return r;
          },
          node.signal,
        );
      }),
    };
  }
}

export const importanceMaskerManifest: PluginManifest = {
  key: 'masker.importance',
  doc: 'Chooses the layers to keep with a training-free importance score (a baseline to the search).',
  inputs,
  outputs: { mask: { type: 'Mask' } },
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...calibrationSchema,
      score: { 'x-component': 'importance', default: { component: 'importance.blockInfluence' } },
    },
  },
  deterministic: true,
  node: ImportanceMaskerNode,
};
