import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { fusedAdamW } from '@e3/native';
import { AdamW, globalNormScale } from '@e3/plugins';
import { maxAbsDiff, useBackend } from '../helpers/tf.js';

const OPTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };

/** Two steps of AdamW from the same start, one given `scale`, the other gradients already multiplied by it. */
function compare(scale: number): number {
  const start = [tf.tensor2d([0.5, -1, 2, 0.25], [2, 2]), tf.tensor1d([1, -2, 3])];
  const grads = [tf.tensor2d([3, -4, 0.5, 12], [2, 2]), tf.tensor1d([-6, 1, 2])];
  const a = start.map((t) => tf.variable(t.clone()));
  const b = start.map((t) => tf.variable(t.clone()));
  const [optA, optB] = [new AdamW(a, OPTS), new AdamW(b, OPTS)];
  for (let step = 0; step < 2; step++) {
    optA.apply(grads, 0.01, scale);
    const scaled = grads.map((g) => tf.mul(g, scale));
    optB.apply(scaled, 0.01);
    tf.dispose(scaled);
  }
  const diff = Math.max(...a.map((x, i) => maxAbsDiff(x, b[i])));
  tf.dispose([...start, ...grads, ...a, ...b]);
  optA.dispose();
  optB.dispose();
  return diff;
}

describe('global-norm clipping folded into AdamW', () => {
  before(() => useBackend('cpu'));

  it('globalNormScale: the norm, and the factor down to maxNorm (1 within it, or with clipping off)', async () => {
    const g = [tf.tensor1d([3, 0]), tf.tensor2d([[0, 4]])];
    assert.deepEqual(await globalNormScale(g, 10), { norm: 5, scale: 1 });
    assert.deepEqual(await globalNormScale(g, 0), { norm: 5, scale: 1 });
    const { norm, scale } = await globalNormScale(g, 1);
    assert.equal(norm, 5);
    assert.ok(Math.abs(scale - 0.2) < 1e-6);
    tf.dispose(g);
  });

  for (const [backend, native] of [
    ['cpu', false],
    ['cpu', true],
    ['wasm', true],
  ] as const) {
    it(`AdamW.apply(g, lr, s) equals AdamW on s·g (${backend}${native ? ', fused kernel' : ', op by op'})`, async () => {
      await useBackend(backend, { native });
      assert.equal(fusedAdamW(), backend === 'wasm' || native);
      assert.ok(compare(0.2) < 1e-6);
      assert.ok(compare(1) < 1e-7);
    });
  }
});
