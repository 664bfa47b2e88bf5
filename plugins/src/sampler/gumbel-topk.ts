import { inject, injectable } from 'inversify';
import * as tf from '@tensorflow/tfjs-core';
import { COMPONENT_PARAMS, type ComponentManifest, type Rng } from '@e3/core';
import { gumbelNoise, hardTopK, relaxedTopK } from '../maths/relaxed-topk.js';
import {
  annealSchema,
  expSchedule,
  straightThrough,
  type MaskSample,
  type MaskSampler,
  type SampleState,
} from './sampler.js';

interface Params {
  noise: { from: number; to: number };
}

/**
 * Gumbel-TopK (METHOD.md Stage 1): g = −log(−log u) scaled by an annealed noise level;
 * m_hard = TopK_k(α + g); m_soft = relaxed top-k of α + g at τ; straight-through.
 * Annealing the noise (ours; default 1 → 0.1) makes late steps exploit what α learned,
 * which is what makes the final TopK(α) reliable across seeds.
 */
@injectable()
export class GumbelTopKSampler implements MaskSampler {
  readonly name = 'gumbelTopk';
  constructor(@inject(COMPONENT_PARAMS) private readonly p: Params) {}

  sample(alpha: tf.Tensor1D, values: readonly number[], s: SampleState, rng: Rng): MaskSample {
    const scale = expSchedule(this.p.noise.from, this.p.noise.to, s.progress);
    const g = gumbelNoise(alpha.size, rng, scale);
    const perturbed = tf.add(alpha, tf.tensor1d(g)) as tf.Tensor1D;
    const hard = hardTopK(
      values.map((a, i) => a + g[i]),
      s.k,
    );
    const soft = relaxedTopK(perturbed, s.k, s.tau);
    return { mask: straightThrough(hard, soft), hard };
  }
}

export const gumbelTopkManifest: ComponentManifest = {
  key: 'sampler.gumbelTopk',
  kind: 'sampler',
  doc: 'Gumbel noise + relaxed top-k (Xie & Ermon) + straight-through; the E³ sampler.',
  params: { type: 'object', properties: { noise: annealSchema(1, 0.1, 'Gumbel noise scale') } },
  component: GumbelTopKSampler,
};
