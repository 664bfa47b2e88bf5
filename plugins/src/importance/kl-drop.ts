import { injectable } from 'inversify';
import type { ComponentManifest } from '@e3/core';
import type { MaskEvaluator } from './mask-evaluator.js';
import { selectByScores, type LayerImportance } from './importance.js';

/**
 * KL-drop: s_ℓ = KL(p_full ‖ p_without ℓ) on calibration data, the layer-importance initialisation of the
 * E³-Pruner mask search (arXiv 2511.17205; docs/METHOD.md Stage 1): removing each block alone, how far the
 * output distribution moves from the full model's. The search's default init.
 */
@injectable()
export class KlDrop implements LayerImportance {
  readonly name = 'klDrop';
  evaluations(layers: number): number {
    return layers;
  }
  async scores(evaluator: MaskEvaluator): Promise<number[]> {
    const L = evaluator.numLayers;
    const out: number[] = [];
    for (let l = 0; l < L; l++) out.push(await evaluator.kl(Array.from({ length: L }, (_, i) => (i === l ? 0 : 1))));
    return out;
  }
  async select(evaluator: MaskEvaluator, keep: number) {
    return selectByScores(await this.scores(evaluator), keep);
  }
}

export const klDropManifest: ComponentManifest = {
  key: 'importance.klDrop',
  kind: 'importance',
  doc:
    'KL between the full model and the model without one layer, per layer (the E³-Pruner search init, ' +
    'arXiv 2511.17205).',
  params: { type: 'object', properties: {} },
  component: KlDrop,
};
