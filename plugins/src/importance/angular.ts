import { injectable } from 'inversify';
import type { ComponentManifest } from '@e3/core';
import { rowCosine, type MaskEvaluator } from './mask-evaluator.js';
import type { LayerImportance } from './importance.js';

/**
 * Angular distance (Gromov et al. 2024, "The Unreasonable Ineffectiveness of the Deeper Layers",
 * arXiv 2403.17887, section 3.2): for n = L − K, d(ℓ, ℓ+n) = arccos(cos(x_ℓ, x_ℓ+n))/π on
 * each sequence's last token, averaged; removes the n consecutive blocks ℓ..ℓ+n−1 with the
 * smallest d. Not a per-layer ranking, so it cannot initialise the search.
 */
@injectable()
export class AngularDistance implements LayerImportance {
  readonly name = 'angular';
  async scores(): Promise<undefined> {
    return undefined;
  }
  async select(evaluator: MaskEvaluator, keep: number): Promise<{ mask: number[]; scores: number[] }> {
    const L = evaluator.numLayers;
    const n = L - keep;
    const mask = new Array(L).fill(1);
    if (n === 0) return { mask, scores: [] };
    const { states, d, last } = await evaluator.hiddenStates();
    const dist: number[] = [];
    for (let l = 0; l + n <= L; l++) {
      let s = 0,
        c = 0;
      states.forEach((hs, b) =>
        last[b].forEach((r) => {
          s += Math.acos(Math.min(1, Math.max(-1, rowCosine(hs[l], hs[l + n], r, d)))) / Math.PI;
          c++;
        }),
      );
      dist.push(s / Math.max(c, 1));
    }
    const best = dist.indexOf(Math.min(...dist));
    for (let l = best; l < best + n; l++) mask[l] = 0;
    return { mask, scores: dist };
  }
}

export const angularManifest: ComponentManifest = {
  key: 'importance.angular',
  kind: 'importance',
  doc:
    'Angular distance (Gromov et al. 2024, arXiv 2403.17887): removes the n consecutive blocks that change ' +
    'the last token least.',
  params: { type: 'object', properties: {} },
  component: AngularDistance,
};
