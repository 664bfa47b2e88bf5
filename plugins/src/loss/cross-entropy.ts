import { inject, injectable } from 'inversify';
import * as tf from '@tensorflow/tfjs-core';
import { COMPONENT_PARAMS, type ComponentManifest } from '@e3/core';
import { labelOneHot } from './buckets.js';
import { weightedMean, type LossInputs, type LossTerm } from './loss-term.js';

interface Params { weight: number; labelSmoothing: number }

/** Cross-entropy on ground-truth next tokens: −log q(label), token-weighted. */
@injectable()
export class CrossEntropyLoss implements LossTerm {
  readonly name = 'crossEntropy';
  readonly needsTeacher = false;
  readonly weight: number;
  private readonly smoothing: number;

  constructor(@inject(COMPONENT_PARAMS) p: Params) {
    this.weight = p.weight;
    this.smoothing = p.labelSmoothing;
  }

  compute(x: LossInputs): tf.Scalar {
    return tf.tidy(() => {
      const logq = tf.logSoftmax(x.logits);
      const onehot = labelOneHot(x.labels, x.vocabSize);
      let target: tf.Tensor = onehot;
      if (this.smoothing > 0) target = tf.add(tf.mul(onehot, 1 - this.smoothing), this.smoothing / x.vocabSize);
      const nll = tf.neg(tf.sum(tf.mul(target, logq), -1)) as tf.Tensor2D;
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
      labelSmoothing: { type: 'number', minimum: 0, maximum: 1, default: 0, description: 'mix of the uniform distribution into the target' },
    },
  },
  component: CrossEntropyLoss,
};
