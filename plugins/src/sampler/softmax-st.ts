import { inject, injectable } from 'inversify';
import * as tf from '@tensorflow/tfjs-core';
import { COMPONENT_PARAMS, type ComponentManifest, type Rng } from '@e3/core';
import { gumbelNoise, hardTopK } from '../maths/relaxed-topk.js';
import { straightThrough, type MaskSample, type MaskSampler, type SampleState } from './sampler.js';

/**
 * The plain-softmax surrogate (ablation): m_soft = softmax((α + g)/τ), which sums to 1, not
 * k — so each kept layer gets ~1/k of the gradient it should. Kept to show why it is wrong.
 */
@injectable()
export class SoftmaxStSampler implements MaskSampler {
  readonly name = 'softmaxSt';
  constructor(@inject(COMPONENT_PARAMS) private readonly p: { noise: number }) {}

  sample(alpha: tf.Tensor1D, values: readonly number[], s: SampleState, rng: Rng): MaskSample {
    const g = gumbelNoise(alpha.size, rng, this.p.noise);
    const perturbed = tf.add(alpha, tf.tensor1d(g)) as tf.Tensor1D;
    const hard = hardTopK(
      values.map((a, i) => a + g[i]),
      s.k,
    );
    return { mask: straightThrough(hard, tf.softmax(tf.div(perturbed, s.tau)) as tf.Tensor1D), hard };
  }
}

export const softmaxStManifest: ComponentManifest = {
  key: 'sampler.softmaxSt',
  kind: 'sampler',
  doc: 'Plain-softmax surrogate that sums to 1 (ablation showing the wrong gradient scale).',
  params: {
    type: 'object',
    properties: { noise: { type: 'number', minimum: 0, default: 1, description: 'Gumbel noise scale (0 = none)' } },
  },
  component: SoftmaxStSampler,
};
