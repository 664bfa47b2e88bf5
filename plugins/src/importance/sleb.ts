import { injectable } from 'inversify';
import type { ComponentManifest } from '@e3/core';
import type { MaskEvaluator } from './mask-evaluator.js';
import type { LayerImportance } from './importance.js';

/**
 * SLEB (Song et al. 2024, "SLEB: Streamlining LLMs through Redundancy Verification and Elimination of
 * Transformer Blocks", arXiv 2402.09025, Algorithm 1 with its metric 3): greedy; each round removes the block whose removal gives the lowest calibration
 * NLL, re-scoring on the pruned model each round. Scores: the round a layer would be
 * removed in (later = more important), so it can also initialise the search.
 */
@injectable()
export class Sleb implements LayerImportance {
  readonly name = 'sleb';
  /** Round j (j layers left) scores j masks; `scores` ranks every layer, down to one left. */
  evaluations(layers: number, keep: number, use: 'scores' | 'select'): number {
    let n = 0;
    for (let j = layers; j > (use === 'scores' ? 1 : keep); j--) n += j;
    return n;
  }
  async scores(evaluator: MaskEvaluator): Promise<number[]> {
    const L = evaluator.numLayers;
    return (await this.greedy(evaluator, 1)).order.reduce((s, layer, round) => {
      s[layer] = round;
      return s;
    }, new Array(L).fill(L));
  }
  async select(evaluator: MaskEvaluator, keep: number) {
    const { mask, order } = await this.greedy(evaluator, keep);
    const scores = new Array(evaluator.numLayers).fill(evaluator.numLayers);
    order.forEach((layer, round) => {
      scores[layer] = round;
    });
    return { mask, scores };
  }

  private async greedy(evaluator: MaskEvaluator, keep: number): Promise<{ mask: number[]; order: number[] }> {
    const mask = new Array(evaluator.numLayers).fill(1);
    const order: number[] = [];
    while (mask.reduce((a, b) => a + b, 0) > keep) {
      let best = -1,
        bestNll = Infinity;
      for (let l = 0; l < mask.length; l++) {
        if (!mask[l]) continue;
        const trial = mask.map((m, i) => (i === l ? 0 : m));
        const nll = await evaluator.nll(trial);
        if (nll < bestNll) {
          bestNll = nll;
          best = l;
        }
      }
      mask[best] = 0;
      order.push(best);
    }
    return { mask, order };
  }
}

export const slebManifest: ComponentManifest = {
  key: 'importance.sleb',
  kind: 'importance',
  doc: 'SLEB (Song et al. 2024, arXiv 2402.09025): greedy removal by calibration NLL, re-scored every round.',
  params: { type: 'object', properties: {} },
  component: Sleb,
};
