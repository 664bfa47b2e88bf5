import { inject, injectable } from 'inversify';
import { COMPONENT_PARAMS, UserError, type ComponentManifest } from '@e3/core';
import type { MaskEvaluator } from './mask-evaluator.js';
import type { LayerImportance } from './importance.js';

/** How many alive blocks at each end a round never removes (SLEB's reference code: 1 and 1). */
export interface SlebParams {
  earlyBarrier: number;
  latterBarrier: number;
}

/**
 * SLEB (Song et al. 2024, "SLEB: Streamlining LLMs through Redundancy Verification and Elimination of
 * Transformer Blocks", arXiv 2402.09025, Algorithm 1): greedy; each round removes the block whose
 * removal gives the lowest calibration NLL, re-scoring on the pruned model each round. The reference
 * code never removes the first `earlyBarrier` nor the last `latterBarrier` alive blocks (both 1 there,
 * 0 by default here: every block a candidate). Scores: the round a layer would be removed in (later =
 * more important; never = L), so it can also initialise the search.
 */
@injectable()
export class Sleb implements LayerImportance {
  readonly name = 'sleb';
  constructor(@inject(COMPONENT_PARAMS) private readonly p: SlebParams = { earlyBarrier: 0, latterBarrier: 0 }) {}
  /** Blocks that stay whatever the rounds find. */
  private get barred(): number {
    return this.p.earlyBarrier + this.p.latterBarrier;
  }
  /** Round j (j layers left) scores the j blocks outside the barriers; `scores` ranks down to one candidate. */
  evaluations(layers: number, keep: number, use: 'scores' | 'select'): number {
    let n = 0;
    for (let j = layers; j > (use === 'scores' ? Math.max(1, this.barred) : keep); j--) n += j - this.barred;
    return n;
  }
  async scores(evaluator: MaskEvaluator): Promise<number[]> {
    const L = evaluator.numLayers;
    return (await this.greedy(evaluator, Math.max(1, this.barred))).order.reduce((s, layer, round) => {
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
    if (keep < this.barred)
      throw new UserError(
        `importance.sleb: keeping ${keep} blocks cannot respect earlyBarrier + latterBarrier = ${this.barred} ` +
          '(fix: lower the barriers or remove fewer layers)',
      );
    const mask = new Array(evaluator.numLayers).fill(1);
    const order: number[] = [];
    while (mask.reduce((a, b) => a + b, 0) > keep) {
      let best = -1,
        bestNll = Infinity;
      const alive = mask.flatMap((m, l) => (m ? [l] : []));
      for (const l of alive.slice(this.p.earlyBarrier, alive.length - this.p.latterBarrier)) {
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
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      earlyBarrier: {
        type: 'integer',
        minimum: 0,
        default: 0,
        description: 'the first alive blocks no round removes (SLEB reference code: 1)',
      },
      latterBarrier: {
        type: 'integer',
        minimum: 0,
        default: 0,
        description: 'the last alive blocks no round removes (SLEB reference code: 1)',
      },
    },
  },
  component: Sleb,
};
