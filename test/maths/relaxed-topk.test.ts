import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@e3/core';
import { gumbelNoise, hardTopK, relaxedTopK, straightThrough, stopGradient } from '@e3/plugins';
import { useBackend } from '../helpers/tf.js';

describe('maths: relaxed top-k, straight-through, Gumbel noise', () => {
  before(() => useBackend('cpu'));

  it('relaxed top-k sums to k and tends to the hard top-k as τ → 0', () => {
    const s = tf.tensor1d([0.3, 2.0, -1.0, 1.5, 0.9]);
    for (const k of [1, 2, 4]) {
      const m = Array.from(relaxedTopK(s, k, 1).dataSync());
      assert.ok(Math.abs(m.reduce((a, b) => a + b, 0) - k) < 1e-4, `sum ${k}`);
      const cold = Array.from(relaxedTopK(s, k, 0.01).dataSync());
      const hard = hardTopK(s.dataSync(), k);
      cold.forEach((v, i) => assert.ok(Math.abs(v - hard[i]) < 1e-3, `τ→0 at ${i}: ${v} vs ${hard[i]}`));
    }
  });

  it('relaxed top-k matches a hand computation for k = 2', () => {
    // w1 = s; a1 = softmax(s); w2 = s + log(1 − a1); a2 = softmax(w2); m = a1 + a2
    const s = [0, Math.log(2), Math.log(3)];
    const sm = (w: number[]) => {
      const e = w.map(Math.exp);
      const z = e.reduce((a, b) => a + b);
      return e.map((x) => x / z);
    };
    const a1 = sm(s);
    const a2 = sm(s.map((w, i) => w + Math.log(1 - a1[i])));
    const want = a1.map((x, i) => x + a2[i]);
    const got = relaxedTopK(tf.tensor1d(s), 2, 1).dataSync();
    want.forEach((w, i) => assert.ok(Math.abs(w - got[i]) < 1e-5, `${w} vs ${got[i]}`));
  });

  it('gradient of the relaxed top-k is non-zero', () => {
    const g = tf.grad((x: tf.Tensor) =>
      tf.sum(tf.mul(relaxedTopK(x as tf.Tensor1D, 2, 0.5), tf.tensor1d([1, 0, 0, 0]))),
    )(tf.tensor1d([0.1, 0.2, 0.3, 0.4]));
    assert.ok(Array.from(g.dataSync()).some((v) => Math.abs(v) > 1e-4));
  });

  it('straight-through: forward equals the hard mask, gradient equals the soft gradient', () => {
    const alpha = tf.tensor1d([0.5, -0.2, 1.1, 0.0]);
    const hard = [1, 0, 1, 0];
    const f = (a: tf.Tensor) => straightThrough(hard, relaxedTopK(a as tf.Tensor1D, 2, 0.7));
    assert.deepEqual(
      Array.from(f(alpha).dataSync()).map((v) => Math.round(v * 1e6) / 1e6),
      hard,
    );
    const w = tf.tensor1d([1, 2, 3, 4]);
    const gST = tf
      .grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), w)))(alpha)
      .dataSync();
    const gSoft = tf
      .grad((a: tf.Tensor) => tf.sum(tf.mul(relaxedTopK(a as tf.Tensor1D, 2, 0.7), w)))(alpha)
      .dataSync();
    gST.forEach((v, i) => assert.ok(Math.abs(v - gSoft[i]) < 1e-6));
    assert.equal(
      tf
        .grad((a: tf.Tensor) => tf.sum(stopGradient(a)))(alpha)
        .dataSync()
        .every((v) => v === 0),
      true,
    );
  });

  it('Gumbel-max: top-1 frequencies match softmax(α) within 1.5 points over 20k seeded draws', () => {
    const alpha = [1.0, 0.0, -0.5, 2.0];
    const z = alpha.map(Math.exp).reduce((a, b) => a + b);
    const rng = new Rng(11);
    const counts = [0, 0, 0, 0];
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const g = gumbelNoise(4, rng);
      const w = alpha.map((a, j) => a + g[j]);
      counts[w.indexOf(Math.max(...w))]++;
    }
    alpha.forEach((a, j) =>
      assert.ok(
        Math.abs(counts[j] / n - Math.exp(a) / z) < 0.015,
        `layer ${j}: ${counts[j] / n} vs ${Math.exp(a) / z}`,
      ),
    );
  });
});
