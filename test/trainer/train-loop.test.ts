import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { Logger, Progress, UserError } from '@e3/core';
import { AdamW, stepGradients, trainLoop, type StepLoss } from '@e3/plugins';
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

  /**
   * Three rows x with the loss (x·w)², averaged: a batch of 3 as micro-batches of 2 and 1, each part
   * the sum of its rows' losses over 3 (its share of the batch's 3 rows times its own mean).
   */
  const X = [
    [1, 0],
    [0, 1],
    [1, 1],
  ];
  const rowsLoss = (w: tf.Variable, rows: number[][]) =>
    tf.div(tf.sum(tf.square(tf.matMul(tf.tensor2d(rows), tf.reshape(w, [2, 1])))), 3) as tf.Scalar;
  const micro = (w: tf.Variable, calls: string[] = []): StepLoss => ({
    tokens: 3,
    micro: 2,
    prepare: async (i) => void calls.push(`prepare ${i}`),
    value: (i) => {
      calls.push(`value ${i}`);
      return rowsLoss(w, i === 0 ? X.slice(0, 2) : X.slice(2));
    },
    release: (i) => void calls.push(`release ${i}`),
  });

  it("stepGradients sums the micro-batches' gradients: the batch's loss and gradient, by hand", async () => {
    // w = (1, −2): x·w = 1, −2, −1; loss (1 + 4 + 1)/3 = 2; gradient (2/3)·Σ (x·w) x = (0, −2).
    const w = tf.variable(tf.tensor1d([1, -2]));
    const before = tf.memory().numTensors;
    const calls: string[] = [];
    const { loss, grads } = await stepGradients(micro(w, calls), [w]);
    const near = (a: ArrayLike<number>, b: number[]) => b.every((v, i) => Math.abs(a[i] - v) < 1e-6);
    assert.ok(near([loss], [2]), `${loss}`);
    assert.ok(near(await grads[0].data(), [0, -2]), `${await grads[0].data()}`);
    assert.deepEqual(calls, ['prepare 0', 'value 0', 'release 0', 'prepare 1', 'value 1', 'release 1']);
    grads.forEach((g) => g.dispose());
    assert.equal(tf.memory().numTensors, before, 'only the sum is left');
    // The whole batch at once: the same.
    const whole = await stepGradients({ tokens: 3, value: () => rowsLoss(w, X) }, [w]);
    assert.ok(near([whole.loss], [2]));
    assert.ok(near(await whole.grads[0].data(), [0, -2]));
    whole.grads.forEach((g) => g.dispose());
    w.dispose();
  });

  it("clips the batch's summed gradient, not each micro-batch's: training is the same either way", async () => {
    const train = async (asMicro: boolean) => {
      const w = tf.variable(tf.tensor1d([1, -2]));
      await trainLoop({
        vars: [w],
        resume: false,
        logger: new Logger('error'),
        progress: new Progress(process.stderr, true),
        task: 'clip',
        signal: new AbortController().signal,
        // |gradient| = 2 at the start: a clip of 0.5 scales it by 1/4.
        params: {
          steps: 4,
          lr: 0.1,
          warmupSteps: 0,
          minLrRatio: 1,
          weightDecay: 0,
          beta1: 0.9,
          beta2: 0.999,
          clipNorm: 0.5,
          maxTokens: 0,
          checkpointEvery: 0,
          logEvery: 1,
        },
        loss: async () => (asMicro ? micro(w) : { tokens: 3, value: () => rowsLoss(w, X) }),
      });
      const out = Array.from(await w.data());
      w.dispose();
      return out;
    };
    const [whole, parts] = [await train(false), await train(true)];
    parts.forEach((v, i) => assert.ok(Math.abs(v - whole[i]) < 1e-6, `w${i}: ${v} vs ${whole[i]}`));
    // Adam's first step moves each weight by lr against its gradient's sign (w0's gradient is 0).
    assert.ok(Math.abs(whole[1] - -2) > 0.1, `${whole}`);
  });
});
