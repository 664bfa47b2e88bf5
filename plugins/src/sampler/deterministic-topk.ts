import { injectable } from 'inversify';
import type * as tf from '@tensorflow/tfjs-core';
import type { ComponentManifest } from '@e3/core';
import { hardTopK, relaxedTopK } from '../maths/relaxed-topk.js';
import { straightThrough, type MaskSample, type MaskSampler, type SampleState } from './sampler.js';

/** Relaxed top-k + straight-through without noise (ablation: no exploration). */
@injectable()
export class DeterministicTopKSampler implements MaskSampler {
  readonly name = 'deterministicTopk';
  sample(alpha: tf.Tensor1D, values: readonly number[], s: SampleState): MaskSample {
    const hard = hardTopK(values, s.k);
    return { mask: straightThrough(hard, relaxedTopK(alpha, s.k, s.tau)), hard };
  }
}

export const deterministicTopkManifest: ComponentManifest = {
  key: 'sampler.deterministicTopk',
  kind: 'sampler',
  doc: 'Relaxed top-k + straight-through with no Gumbel noise (ablation).',
  params: { type: 'object', properties: {} },
  component: DeterministicTopKSampler,
};
