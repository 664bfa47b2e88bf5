import { inject, injectable } from 'inversify';
import * as tf from '@tensorflow/tfjs-core';
import { COMPONENT_PARAMS, type ComponentManifest } from '@e3/core';
import { weightedMean, type LossTerm } from './loss-term.js';
import type { LossInputs, LossNeed } from './loss-inputs.js';

const REQUIRES: readonly LossNeed[] = ['hiddenStates'];

/**
 * Hidden-state MSE: each student block's output against the teacher block it descends from
 * (student block j ↔ teacher block keptLayers[j]), mean over the hidden size, token-weighted.
 * Needs the teacher model wired into the node (hidden states are not in the cache): only
 * `distiller.train` supplies them, and `e3 validate` refuses it elsewhere.
 */
@injectable()
export class HiddenMseLoss implements LossTerm {
  readonly name = 'hiddenMse';
  readonly requires = REQUIRES;
  readonly weight: number;
  constructor(@inject(COMPONENT_PARAMS) p: { weight: number }) {
    this.weight = p.weight;
  }

  compute(x: LossInputs): tf.Scalar {
    const { hidden, teacherHidden } = x;
    if (!hidden || !teacherHidden) throw new Error('loss.hiddenMse: the training step built no hidden states');
    return tf.tidy(() => {
      const per = hidden.slice(1).map((h, j) => tf.mean(tf.squaredDifference(h, teacherHidden[j]), -1) as tf.Tensor2D);
      return weightedMean(tf.div(tf.addN(per), per.length) as tf.Tensor2D, x.tokenWeights, tf);
    });
  }
}

export const hiddenMseManifest: ComponentManifest = {
  key: 'loss.hiddenMse',
  kind: 'loss',
  doc: 'MSE between student block outputs and the teacher blocks they descend from (needs the teacher wired).',
  params: { type: 'object', properties: { weight: { type: 'number', minimum: 0, default: 1 } } },
  component: HiddenMseLoss,
  requires: REQUIRES,
};
