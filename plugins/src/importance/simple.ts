import { inject, injectable } from 'inversify';
import { COMPONENT_PARAMS, type ComponentManifest, type Rng } from '@e3/core';
import type { MaskEvaluator } from './mask-evaluator.js';
import { selectByScores, type LayerImportance } from './importance.js';

/**
 * Removes the deepest n blocks: Gromov et al.'s simple heuristic ("The Unreasonable Ineffectiveness of
 * the Deeper Layers", arXiv 2403.17887), which keeps the final block (the one before the output norm and
 * head) and removes the n before it. `keepFinalLayer: false` removes the final n blocks outright.
 * Scores fall with depth, the final block's ranking first when it is kept.
 */
@injectable()
export class LastN implements LayerImportance {
  readonly name = 'lastN';
  constructor(@inject(COMPONENT_PARAMS) private readonly p: { keepFinalLayer: boolean } = { keepFinalLayer: true }) {}
  async scores(evaluator: MaskEvaluator): Promise<number[]> {
    const L = evaluator.numLayers;
    return Array.from({ length: L }, (_, i) => (this.p.keepFinalLayer && i === L - 1 ? L + 1 : L - i));
  }
  async select(evaluator: MaskEvaluator, keep: number) {
    return selectByScores(await this.scores(evaluator), keep);
  }
}

/** Random layers from the run's seeded RNG (the random baseline of ShortGPT, arXiv 2403.03853, and Gromov et al.). */
@injectable()
export class RandomImportance implements LayerImportance {
  readonly name = 'random';
  async scores(evaluator: MaskEvaluator, _keep: number, rng: Rng): Promise<number[]> {
    return Array.from({ length: evaluator.numLayers }, () => rng.next());
  }
  async select(evaluator: MaskEvaluator, keep: number, rng: Rng) {
    return selectByScores(await this.scores(evaluator, keep, rng), keep);
  }
}

/** All layers equal (the search's "zeros" init). */
@injectable()
export class ZerosImportance implements LayerImportance {
  readonly name = 'zeros';
  async scores(evaluator: MaskEvaluator): Promise<number[]> {
    return new Array(evaluator.numLayers).fill(0);
  }
  async select(evaluator: MaskEvaluator, keep: number) {
    return selectByScores(await this.scores(evaluator), keep);
  }
}

const none = { type: 'object', properties: {} };
export const lastNManifest: ComponentManifest = {
  key: 'importance.lastN',
  kind: 'importance',
  doc:
    'Removes the deepest blocks but the final one (Gromov et al. 2024, arXiv 2403.17887, "simple heuristic"); ' +
    'keepFinalLayer: false removes the final blocks.',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      keepFinalLayer: {
        type: 'boolean',
        default: true,
        description: 'keep the final block and remove the n before it (Gromov et al.); false: remove the last n',
      },
    },
  },
  component: LastN,
};
export const randomManifest: ComponentManifest = {
  key: 'importance.random',
  kind: 'importance',
  doc: 'Random blocks from the seeded RNG (the random baseline of ShortGPT, arXiv 2403.03853).',
  params: none,
  component: RandomImportance,
};
export const zerosManifest: ComponentManifest = {
  key: 'importance.zeros',
  kind: 'importance',
  doc: 'Equal scores (a neutral init for the search; ties keep the first layers).',
  params: none,
  component: ZerosImportance,
};
