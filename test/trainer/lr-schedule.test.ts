import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { Logger, Progress } from '@e3/core';
import { trainLoop, warmupCosine } from '@e3/plugins';
import { useBackend } from '../helpers/tf.js';

/*
 * The learning-rate schedule against a table worked out by hand: peak 0.1, 4 warm-up steps, 12 steps,
 * minLrRatio 0.1. Warm-up: lr_s = peak·(s + 1)/4. Then p = (s − 4)/8 and
 * lr_s = peak·(0.1 + 0.9·½·(1 + cos πp)) = 0.1·(0.1 + 0.45·(1 + cos πp)), with cos(kπ/8) for k = 1…7 =
 * 0.9238795, 0.7071068, 0.3826834, 0, −0.3826834, −0.7071068, −0.9238795:
 *   s:   0      1     2      3    4    5          6          7          8      9          10         11
 *   lr:  0.025  0.05  0.075  0.1  0.1  0.0965746  0.0868198  0.0722208  0.055  0.0377792  0.0231802  0.0134254
 * Their sum: warm-up 0.25, then 0.1·(8·0.1 + 0.45·(8 + Σ_k cos kπ/8)) = 0.1·(0.8 + 0.45·9) = 0.485
 * (the cosines cancel in pairs but for cos 0 = 1): 0.735.
 */
const TABLE = [0.025, 0.05, 0.075, 0.1, 0.1, 0.0965746, 0.0868198, 0.0722208, 0.055, 0.0377792, 0.0231802, 0.0134254];

describe('trainer: the learning-rate schedule against a hand table', function () {
  this.timeout(60000);
  before(() => useBackend('wasm'));

  it('warmupCosine: linear warm-up to the peak, cosine down towards peak × minLrRatio', () => {
    TABLE.forEach((want, s) => {
      const got = warmupCosine(s, 12, 4, 0.1, 0.1);
      assert.ok(Math.abs(got - want) < 1e-7, `step ${s}: lr ${got}, by hand ${want}`);
    });
    assert.ok(Math.abs(warmupCosine(12, 12, 4, 0.1, 0.1) - 0.01) < 1e-12, 'the floor at the last step');
    assert.equal(warmupCosine(0, 12, 0, 0.1, 0.1), 0.1, 'no warm-up: the peak at once');
  });

  it('the train loop applies step s with lr_s: a unit gradient moves a scalar by Σ lr = 0.735', async () => {
    // Loss w (gradient 1 every step): Adam's m̂ = 1 and √v̂ = 1 at every step, so each step moves w by
    // lr_s·1/(1 + 1e-8); a scalar is not decayed. w: 1 → 1 − 0.735 = 0.265.
    const w = tf.variable(tf.scalar(1));
    const { metrics } = await trainLoop({
      vars: [w],
      resume: false,
      logger: new Logger('error'),
      progress: new Progress(process.stderr, true),
      task: 'lr-schedule',
      signal: new AbortController().signal,
      params: {
        steps: 12,
        lr: 0.1,
        warmupSteps: 4,
        minLrRatio: 0.1,
        weightDecay: 0.1,
        beta1: 0.9,
        beta2: 0.999,
        clipNorm: 0,
        maxTokens: 0,
        checkpointEvery: 0,
        logEvery: 1,
      },
      loss: async () => ({ tokens: 1, value: () => tf.mul(w, 1) as tf.Scalar }),
    });
    assert.deepEqual(
      metrics.map((m) => m.step),
      [...TABLE.keys()],
    );
    metrics.forEach((m) => assert.ok(Math.abs(m.lr - TABLE[m.step]) < 1e-7, `step ${m.step}: lr ${m.lr}`));
    const end = w.dataSync()[0];
    assert.ok(Math.abs(end - 0.265) < 1e-6, `w after 12 steps: ${end}, by hand 0.265`);
    w.dispose();
  });
});
