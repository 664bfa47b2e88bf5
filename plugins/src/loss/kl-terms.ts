import { inject, injectable } from 'inversify';
import * as tf from '@tensorflow/tfjs-core';
import { COMPONENT_PARAMS, type ComponentManifest } from '@e3/core';
import { stopGradient } from '../maths/stop-gradient.js';
import { bucketLogProbs, klPerToken } from './buckets.js';
import { weightedMean, type LossTerm } from './loss-term.js';
import type { LossInputs, LossNeed } from './loss-inputs.js';

interface Params {
  weight: number;
}

/** Every bucket term compares the student with the teacher cache's targets. */
const REQUIRES: readonly LossNeed[] = ['teacherTargets'];

const weightOnly = {
  type: 'object',
  properties: { weight: { type: 'number', minimum: 0, default: 1, description: 'multiplier in the summed loss' } },
};

/**
 * A component class for KL over the k+1 buckets in one direction: forward KL(p_teacher ‖ q_student)
 * (mean-seeking) or reverse KL(q_student ‖ p_teacher) (mode-seeking).
 */
function bucketKl(name: string, reverse: boolean) {
  @injectable()
  class BucketKlLoss implements LossTerm {
    readonly name = name;
    readonly requires = REQUIRES;
    readonly weight: number;
    constructor(@inject(COMPONENT_PARAMS) p: Params) {
      this.weight = p.weight;
    }
    compute(x: LossInputs): tf.Scalar {
      return tf.tidy(() => {
        const { logP, logQ } = bucketLogProbs(x);
        const perToken = reverse ? klPerToken(logQ, logP) : klPerToken(logP, logQ);
        return weightedMean(perToken, x.tokenWeights, tf);
      });
    }
  }
  return BucketKlLoss;
}

/** Forward KL(p_teacher ‖ q_student) over the k+1 buckets (mean-seeking). */
export const ForwardKlLoss = bucketKl('forwardKl', false);
/** Reverse KL(q_student ‖ p_teacher) over the k+1 buckets (mode-seeking). */
export const ReverseKlLoss = bucketKl('reverseKl', true);

/**
 * AKL (Wu et al. 2024), per token over the k+1 buckets: sort p descending (the top-k are
 * sorted; the rest bucket goes last, as the tail it aggregates — ours); head = the prefix
 * whose cumulative p ≤ `headMass`; g_head = Σ_head |p − q|, g_tail = Σ_tail |p − q| with q
 * detached; loss = g_head/(g_head+g_tail)·FKL + g_tail/(g_head+g_tail)·RKL.
 */
@injectable()
export class AdaptiveKlLoss implements LossTerm {
  readonly name = 'akl';
  readonly requires = REQUIRES;
  readonly weight: number;
  private readonly headMass: number;
  constructor(@inject(COMPONENT_PARAMS) p: Params & { headMass: number }) {
    this.weight = p.weight;
    this.headMass = p.headMass;
  }

  compute(x: LossInputs): tf.Scalar {
    return tf.tidy(() => {
      const { logP, logQ } = bucketLogProbs(x);
      const { head, tail } = aklGaps(logP, logQ, this.headMass);
      const denom = tf.maximum(tf.add(head, tail), 1e-12);
      const perToken = tf.add(
        tf.mul(tf.div(head, denom), klPerToken(logP, logQ)),
        tf.mul(tf.div(tail, denom), klPerToken(logQ, logP)),
      ) as tf.Tensor2D;
      return weightedMean(perToken, x.tokenWeights, tf);
    });
  }
}

/** g_head and g_tail per token ([B, T]); q is detached. Buckets must be sorted by p, rest last. */
export function aklGaps(
  logP: tf.Tensor3D,
  logQ: tf.Tensor3D,
  headMass: number,
): { head: tf.Tensor2D; tail: tf.Tensor2D } {
  return tf.tidy(() => {
    const p = tf.exp(logP);
    const q = stopGradient(tf.exp(logQ));
    const k1 = p.shape[2];
    // The rest bucket (last) never joins the head.
    const cum = tf.cumsum(p, 2); // tfjs cumsum mishandles axis -1
    const notRest = tf.concat([tf.ones([...p.shape.slice(0, 2), k1 - 1]), tf.zeros([...p.shape.slice(0, 2), 1])], -1);
    const inHead = tf.mul(tf.cast(tf.lessEqual(cum, headMass), 'float32'), notRest);
    const gap = tf.abs(tf.sub(p, q));
    return {
      head: tf.sum(tf.mul(gap, inHead), -1) as tf.Tensor2D,
      tail: tf.sum(tf.mul(gap, tf.sub(1, inHead)), -1) as tf.Tensor2D,
    };
  });
}

export const forwardKlManifest: ComponentManifest = {
  key: 'loss.forwardKl',
  kind: 'loss',
  doc: 'Forward KL(teacher ‖ student) over the teacher top-k + rest buckets.',
  params: weightOnly,
  component: ForwardKlLoss,
  requires: REQUIRES,
};
export const reverseKlManifest: ComponentManifest = {
  key: 'loss.reverseKl',
  kind: 'loss',
  doc: 'Reverse KL(student ‖ teacher) over the teacher top-k + rest buckets.',
  params: weightOnly,
  component: ReverseKlLoss,
  requires: REQUIRES,
};
export const aklManifest: ComponentManifest = {
  key: 'loss.akl',
  kind: 'loss',
  doc: 'Adaptive KL (Wu et al. 2024): head/tail-gap mix of forward and reverse KL.',
  params: {
    type: 'object',
    properties: {
      ...weightOnly.properties,
      headMass: {
        type: 'number',
        exclusiveMinimum: 0,
        exclusiveMaximum: 1,
        default: 0.5,
        description: 'cumulative teacher probability that bounds the head',
      },
    },
  },
  component: AdaptiveKlLoss,
  requires: REQUIRES,
};
