import { inject, injectable } from 'inversify';
import * as tf from '@tensorflow/tfjs-core';
import { COMPONENT_PARAMS, type ComponentManifest } from '@e3/core';
import { weightedMean, type LossTerm } from './loss-term.js';
import type { LossInputs, LossNeed } from './loss-inputs.js';

const REQUIRES: readonly LossNeed[] = ['labels'];

interface Params {
  weight: number;
  labelSmoothing: number;
}

/** Cross-entropy on ground-truth next tokens: −log q(label), token-weighted. */
@injectable()
export class CrossEntropyLoss implements LossTerm {
  readonly name = 'crossEntropy';
  readonly requires = REQUIRES;
  readonly weight: number;
  private readonly smoothing: number;

  constructor(@inject(COMPONENT_PARAMS) p: Params) {
    this.weight = p.weight;
    this.smoothing = p.labelSmoothing;
  }

  compute(x: LossInputs): tf.Scalar {
    return tf.tidy(() => {
      // −Σ_v target_v log q_v with target = (1 − ε)·onehot(label) + ε/V
      const { logQLabel, meanLogQ } = x.student;
      const e = this.smoothing;
      const nll = tf.neg(e > 0 ? tf.add(tf.mul(logQLabel, 1 - e), tf.mul(meanLogQ, e)) : logQLabel) as tf.Tensor2D;
      return weightedMean(nll, x.tokenWeights, tf);
    });
  }
}

export const crossEntropyManifest: ComponentManifest = {
  key: 'loss.crossEntropy',
  kind: 'loss',
  doc: 'Cross-entropy on ground-truth labels (token-weighted mean of −log q(label)).',
  params: {
    type: 'object',
    properties: {
      weight: { type: 'number', minimum: 0, default: 1, description: 'multiplier in the summed loss' },
      labelSmoothing: {
        type: 'number',
        minimum: 0,
        maximum: 1,
        default: 0,
        description: 'mix of the uniform distribution into the target',
      },
    },
  },
  component: CrossEntropyLoss,
  requires: REQUIRES,
};
