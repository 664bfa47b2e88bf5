import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { Logger, Progress, UserError } from '@e3/core';
import { AdamW, trainLoop } from '@e3/plugins';
import { useBackend } from '../helpers/tf.js';

describe('trainer: the train loop', function () {
  this.timeout(120000);
  before(() => useBackend('wasm'));

  it('stops with a clear error on a non-finite loss, naming the step', async () => {
    const v = tf.variable(tf.scalar(1));
    await assert.rejects(
      trainLoop({
        vars: [v],
        resume: false,
        logger: new Logger('error'),
        progress: new Progress(process.stderr, true),
        task: 'nan-test',
        signal: new AbortController().signal,
        params: {
          steps: 10,
          lr: 0.1,
          warmupSteps: 0,
          minLrRatio: 1,
          weightDecay: 0,
          beta1: 0.9,
          beta2: 0.999,
          clipNorm: 1,
          maxTokens: 0,
          checkpointEvery: 0,
          logEvery: 1,
        },
        loss: async (step) => ({
          tokens: 1,
          value: () => (step === 3 ? tf.div(tf.mul(v, 0), 0) : tf.square(v)) as tf.Scalar,
        }),
      }),
      (e: unknown) => e instanceof UserError && /nan-test: non-finite loss \(NaN\) at step 3/.test(e.message),
    );
    v.dispose();
  });

  it('stops at the token budget', async () => {
    const v = tf.variable(tf.scalar(1));
    const r = await trainLoop({
      vars: [v],
      resume: false,
      logger: new Logger('error'),
      progress: new Progress(process.stderr, true),
      task: 'budget',
      signal: new AbortController().signal,
      params: {
        steps: 100,
        lr: 0.1,
        warmupSteps: 0,
        minLrRatio: 1,
        weightDecay: 0,
        beta1: 0.9,
        beta2: 0.999,
        clipNorm: 1,
        maxTokens: 25,
        checkpointEvery: 0,
        logEvery: 1,
      },
      loss: async () => ({ tokens: 10, value: () => tf.square(v) as tf.Scalar }),
    });
    assert.equal(r.steps, 3);
    assert.equal(r.tokens, 30);
    v.dispose();
  });

  it('tf.memory().numTensors stays flat over a long training loop', async () => {
    await useBackend('wasm');
    const w = tf.variable(tf.randomNormal([8, 8]));
    const x = tf.randomNormal([4, 8]);
    const before = tf.memory().numTensors;
    const loop = (steps: number) =>
      trainLoop({
        vars: [w],
        resume: false,
        logger: new Logger('error'),
        progress: new Progress(process.stderr, true),
        task: 'mem',
        signal: new AbortController().signal,
        params: {
          steps,
          lr: 0.01,
          warmupSteps: 2,
          minLrRatio: 0.1,
          weightDecay: 0.01,
          beta1: 0.9,
          beta2: 0.999,
          clipNorm: 0.5,
          maxTokens: 0,
          checkpointEvery: 0,
          logEvery: 1,
        },
        loss: async () => ({ tokens: 4, value: () => tf.mean(tf.square(tf.matMul(x, w))) as tf.Scalar }),
      });
    await loop(5);
    const after5 = tf.memory().numTensors;
    await loop(50);
    assert.equal(tf.memory().numTensors, after5, 'tensors leaked per step');
    assert.equal(after5, before, 'tensors leaked by the loop');
    w.dispose();
    x.dispose();
  });

  it('AdamW holds two moments per variable and frees them on dispose', () => {
    const w = tf.variable(tf.ones([3, 2]));
    const before = tf.memory().numTensors;
    const opt = new AdamW([w], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
    assert.equal(tf.memory().numTensors, before + 2);
    opt.dispose();
    assert.equal(tf.memory().numTensors, before);
    w.dispose();
  });
});
