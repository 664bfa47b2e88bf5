import { inject, injectable } from 'inversify';
import * as tf from '@tensorflow/tfjs-core';
import { COMPONENT_PARAMS, UserError, type ComponentManifest } from '@e3/core';
import type { TeacherTargets } from '../teacher/topk-cache.js';

/** A token-weighting component (`weighting.*`): per-token weights [B, T], zero where inactive. */
export interface TokenWeighting {
  /** The weighting's name in reports and histories. */
  readonly name: string;
  /**
   * Weights [B, T] for a batch: `active` is 1 where a loss applies; `targets` are the teacher's
   * (present when the component `requires` teacherTargets); zero wherever `active` is.
   */
  weights(active: tf.Tensor2D, targets: TeacherTargets | undefined, vocabSize: number): tf.Tensor2D;
}

/** Every active token weighs 1. */
@injectable()
export class UniformWeighting implements TokenWeighting {
  readonly name = 'uniform';
  weights(active: tf.Tensor2D): tf.Tensor2D {
    return tf.clone(active);
  }
}

/** w_t = 1 + β·H_t / log V (METHOD.md, ours): high-entropy teacher tokens — the forks — weigh more. */
@injectable()
export class TeacherEntropyWeighting implements TokenWeighting {
  readonly name = 'teacherEntropy';
  constructor(@inject(COMPONENT_PARAMS) private readonly p: { beta: number }) {}
  weights(active: tf.Tensor2D, targets: TeacherTargets | undefined, vocabSize: number): tf.Tensor2D {
    if (!targets)
      throw new UserError(
        'weighting.teacherEntropy needs teacher targets; use weighting.uniform without a teacher cache',
      );
    return tf.tidy(
      () => tf.mul(active, tf.add(1, tf.mul(targets.entropy, this.p.beta / Math.log(vocabSize)))) as tf.Tensor2D,
    );
  }
}

export const uniformWeightingManifest: ComponentManifest = {
  key: 'weighting.uniform',
  kind: 'weighting',
  doc: 'Every token weighs 1.',
  params: { type: 'object', properties: {} },
  component: UniformWeighting,
};
export const teacherEntropyWeightingManifest: ComponentManifest = {
  key: 'weighting.teacherEntropy',
  kind: 'weighting',
  doc: 'w = 1 + β·H_teacher/log V: uncertain teacher tokens weigh more.',
  params: { type: 'object', properties: { beta: { type: 'number', minimum: 0, default: 1, description: 'β' } } },
  component: TeacherEntropyWeighting,
  requires: ['teacherTargets'],
};
