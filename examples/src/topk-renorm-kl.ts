/**
 * An example loss-term plugin: KL divergence from the teacher to the student on the teacher's
 * top-k only, each side renormalised over those k tokens,
 * Σ_k p̃_k·(log p̃_k − log q̃_k) with p̃ = p / Σ_topk p and q̃ = q / Σ_topk q,
 * averaged over tokens with the node's token weights. Unlike forward KL it ignores how much
 * probability either model puts outside the teacher's top-k. Compared with forward KL by
 * examples/sweeps/loss-terms.yaml.
 */
import 'reflect-metadata';
import { inject, injectable } from 'inversify';
import * as tf from '@tensorflow/tfjs-core';
import { COMPONENT_PARAMS, type ComponentManifest } from '@e3/core';
import { weightedMean, type LossInputs, type LossTerm } from '@e3/plugins';

interface Params {
  weight: number;
}

/** log x − log Σ_k exp(x_k) over the last axis: a distribution over the k tokens. */
function renormalised(logits: tf.Tensor): tf.Tensor {
  return tf.sub(logits, tf.logSumExp(logits, -1, true));
}

@injectable()
export class TopkRenormKl implements LossTerm {
  readonly name = 'topkRenormKl';
  readonly requires = ['teacherTargets'] as const;
  readonly weight: number;

  constructor(@inject(COMPONENT_PARAMS) p: Params) {
    this.weight = p.weight;
  }

  compute(x: LossInputs): tf.Scalar {
    return tf.tidy(() => {
      const { targets, student } = x;
      if (!targets || !student.logQTop) throw new Error('example.topkRenormKl needs teacher targets');
      const logP = renormalised(targets.logProbs); // [B, T, k]
      const logQ = renormalised(student.logQTop);
      const perToken = tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), -1) as tf.Tensor2D; // [B, T]
      return weightedMean(perToken, x.tokenWeights, tf);
    });
  }
}

export const components: ComponentManifest[] = [
  {
    key: 'example.topkRenormKl',
    kind: 'loss',
    doc: "KL from teacher to student on the teacher's top-k, both renormalised over it (an example plugin).",
    params: {
      type: 'object',
      additionalProperties: false,
      properties: { weight: { type: 'number', minimum: 0, default: 1, description: 'multiplier in the summed loss' } },
    },
    requires: ['teacherTargets'],
    component: TopkRenormKl,
  },
];
