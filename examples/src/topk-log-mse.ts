/**
 * An example loss-term plugin: squared error of log-probabilities on the teacher's top-k,
 * weighted by the teacher, Σ_k p_k·(log p_k − log q_k)², averaged over tokens with the
 * node's token weights. Use it like any `loss.*` component:
 *
 *   e3 run examples/custom-loss.yaml            (graphs/quickstart.yaml with this term added)
 *   loss: [ { component: loss.forwardKl }, { component: example.topkLogMse, weight: 0.5 } ]
 */
import 'reflect-metadata';
import { inject, injectable } from 'inversify';
import * as tf from '@tensorflow/tfjs-core';
import { COMPONENT_PARAMS, type ComponentManifest } from '@e3/core';
import { weightedMean, type LossInputs, type LossTerm } from '@e3/plugins';

interface Params {
  weight: number;
}

@injectable()
export class TopkLogMse implements LossTerm {
  readonly name = 'topkLogMse';
  /** What the training step must build for it; `e3 validate` refuses a node that cannot (see the manifest). */
  readonly requires = ['teacherTargets'] as const;
  readonly weight: number;

  constructor(@inject(COMPONENT_PARAMS) p: Params) {
    this.weight = p.weight;
  }

  compute(x: LossInputs): tf.Scalar {
    return tf.tidy(() => {
      const { targets, student } = x;
      if (!targets || !student.logQTop) throw new Error('example.topkLogMse needs teacher targets');
      const diff = tf.sub(targets.logProbs, student.logQTop); // [B, T, k]
      const perToken = tf.sum(tf.mul(tf.exp(targets.logProbs), tf.square(diff)), -1) as tf.Tensor2D; // [B, T]
      return weightedMean(perToken, x.tokenWeights, tf);
    });
  }
}

export const components: ComponentManifest[] = [
  {
    key: 'example.topkLogMse',
    kind: 'loss',
    doc: 'Teacher-weighted squared error of log-probabilities on the teacher top-k (an example plugin).',
    params: {
      type: 'object',
      additionalProperties: false,
      properties: { weight: { type: 'number', minimum: 0, default: 1, description: 'multiplier in the summed loss' } },
    },
    requires: ['teacherTargets'],
    component: TopkLogMse,
  },
];
