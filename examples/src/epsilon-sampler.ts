/**
 * An example sampler plugin for the mask search: the hard mask is TopK(α), except that with
 * probability ε one kept layer is swapped with a removed one (exploration without Gumbel
 * noise); the gradient flows through the relaxed top-k, straight-through.
 *
 *   e3 run examples/custom-sampler.yaml
 *   sampler: { component: example.epsilonSwap, epsilon: 0.3 }
 */
import 'reflect-metadata';
import { inject, injectable } from 'inversify';
import type * as tf from '@tensorflow/tfjs-core';
import { COMPONENT_PARAMS, type ComponentManifest, type Rng } from '@e3/core';
import {
  hardTopK,
  relaxedTopK,
  straightThrough,
  type MaskSample,
  type MaskSampler,
  type SampleState,
} from '@e3/plugins';

interface Params {
  epsilon: number;
}

@injectable()
export class EpsilonSwapSampler implements MaskSampler {
  readonly name = 'epsilonSwap';

  constructor(@inject(COMPONENT_PARAMS) private readonly p: Params) {}

  sample(alpha: tf.Tensor1D, values: readonly number[], s: SampleState, rng: Rng): MaskSample {
    const hard = hardTopK(values, s.k);
    const kept = hard.flatMap((m, i) => (m ? [i] : []));
    const removed = hard.flatMap((m, i) => (m ? [] : [i]));
    if (removed.length && kept.length && rng.next() < this.p.epsilon) {
      hard[kept[rng.int(kept.length)]] = 0;
      hard[removed[rng.int(removed.length)]] = 1;
    }
    return { mask: straightThrough(hard, relaxedTopK(alpha, s.k, s.tau)), hard };
  }
}

export const components: ComponentManifest[] = [
  {
    key: 'example.epsilonSwap',
    kind: 'sampler',
    doc: 'TopK(α), with one random swap with probability ε; straight-through relaxed top-k (an example plugin).',
    params: {
      type: 'object',
      additionalProperties: false,
      properties: {
        epsilon: { type: 'number', minimum: 0, maximum: 1, default: 0.2, description: 'chance of a swap per step' },
      },
    },
    component: EpsilonSwapSampler,
  },
];
