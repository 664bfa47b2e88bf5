import { injectable } from 'inversify';
import type { ComponentManifest, Rng } from '@e3/core';
import type { MaskEvaluator } from './mask-evaluator.js';
import { selectByScores, type LayerImportance } from './importance.js';

/** Removes the last n blocks (scores fall with depth). */
@injectable()
export class LastN implements LayerImportance {
  readonly name = 'lastN';
  async scores(evaluator: MaskEvaluator): Promise<number[]> {
    return Array.from({ length: evaluator.numLayers }, (_, i) => evaluator.numLayers - i);
  }
  async select(evaluator: MaskEvaluator, keep: number) {
    return selectByScores(await this.scores(evaluator), keep);
  }
}

/** Random layers from the run's seeded RNG. */
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
  doc: 'Removes the deepest blocks.',
  params: none,
  component: LastN,
};
export const randomManifest: ComponentManifest = {
  key: 'importance.random',
  kind: 'importance',
  doc: 'Random blocks (seeded).',
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
