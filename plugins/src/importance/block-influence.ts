import { injectable } from 'inversify';
import type { ComponentManifest } from '@e3/core';
import { rowCosine, type MaskEvaluator } from './mask-evaluator.js';
import { selectByScores, type LayerImportance } from './importance.js';

/**
 * ShortGPT block influence (Men et al. 2024, "ShortGPT: Layers in Large Language Models are More Redundant
 * Than You Expect", arXiv 2403.03853, eq. 1): BI_ℓ = 1 − E_{X,t} cos(x_ℓ,t, x_ℓ+1,t), the mean over every
 * real token t of the calibration sequences of the cosine between block ℓ's input and output; the blocks
 * with the lowest BI are removed.
 */
@injectable()
export class BlockInfluence implements LayerImportance {
  readonly name = 'blockInfluence';
  async scores(evaluator: MaskEvaluator): Promise<number[]> {
    const { states, d, real } = await evaluator.hiddenStates();
    const L = evaluator.numLayers;
    const sum = new Array(L).fill(0);
    let n = 0;
    states.forEach((hs, b) =>
      real[b].forEach((isReal, r) => {
        if (!isReal) return;
        n++;
        for (let l = 0; l < L; l++) sum[l] += rowCosine(hs[l], hs[l + 1], r, d);
      }),
    );
    return sum.map((s) => 1 - s / Math.max(n, 1));
  }
  async select(evaluator: MaskEvaluator, keep: number) {
    return selectByScores(await this.scores(evaluator), keep);
  }
}

export const blockInfluenceManifest: ComponentManifest = {
  key: 'importance.blockInfluence',
  kind: 'importance',
  doc: "ShortGPT block influence (Men et al. 2024, arXiv 2403.03853): 1 − mean cos of a block's input and output.",
  params: { type: 'object', properties: {} },
  component: BlockInfluence,
};
