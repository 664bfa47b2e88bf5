import { inject, injectable } from 'inversify';
import * as tf from '@tensorflow/tfjs-core';
import { COMPONENT_PARAMS, UserError, type ComponentManifest } from '@e3/core';
import { weightedMean, type LossInputs, type LossTerm } from './loss-term.js';

/**
 * Hidden-state MSE: each student block's output against the teacher block it descends from
 * (student block j ↔ teacher block keptLayers[j]), mean over the hidden size, token-weighted.
 * Needs the teacher model wired into the distiller (hidden states are not in the cache).
 */
@injectable()
export class HiddenMseLoss implements LossTerm {
  readonly name = 'hiddenMse';
  readonly needsTeacher = false;
  readonly needsHidden = true;
  readonly weight: number;
  constructor(@inject(COMPONENT_PARAMS) p: { weight: number }) { this.weight = p.weight; }

  compute(x: LossInputs): tf.Scalar {
    if (!x.hidden || !x.teacherHidden) throw new UserError('loss.hiddenMse needs hidden states: wire the teacher model into the distiller (in: { teacher: … })');
    return tf.tidy(() => {
      const per = x.hidden!.slice(1).map((h, j) => tf.mean(tf.squaredDifference(h, x.teacherHidden![j]), -1) as tf.Tensor2D);
      return weightedMean(tf.div(tf.addN(per), per.length) as tf.Tensor2D, x.tokenWeights, tf);
    });
  }
}

export const hiddenMseManifest: ComponentManifest = {
  key: 'loss.hiddenMse', kind: 'loss', doc: 'MSE between student block outputs and the teacher blocks they descend from (needs the teacher wired).',
  params: { type: 'object', properties: { weight: { type: 'number', minimum: 0, default: 1 } } },
  component: HiddenMseLoss,
};
