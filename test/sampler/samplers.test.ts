import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@e3/core';
import { DeterministicTopKSampler, GumbelTopKSampler, SoftmaxStSampler, type MaskSampler } from '@e3/plugins';
import { useBackend } from '../helpers/tf.js';

describe('samplers', () => {
  before(() => useBackend('cpu'));

  it('samplers: Gumbel-TopK is seeded and sums to k; deterministic ignores noise; softmax surrogate sums to 1', () => {
    const alpha = tf.tensor1d([0.2, 1.0, -0.3, 0.5, 0.0, 0.8]);
    const state = { k: 3, tau: 0.5, progress: 0 };
    const av = Array.from(alpha.dataSync());
    const g = new GumbelTopKSampler({ noise: { from: 1, to: 0.1 } });
    const a = g.sample(alpha, av, state, new Rng(5));
    const b = g.sample(alpha, av, state, new Rng(5));
    assert.deepEqual(a.hard, b.hard);
    assert.equal(
      a.hard.reduce((x, y) => x + y),
      3,
    );
    assert.deepEqual(Array.from(a.mask.dataSync()).map(Math.round), a.hard);
    const draws = new Set(Array.from({ length: 30 }, (_, i) => g.sample(alpha, av, state, new Rng(i)).hard.join('')));
    assert.ok(draws.size > 1, 'noise should vary the hard mask');
    assert.deepEqual(new DeterministicTopKSampler().sample(alpha, av, state).hard, [0, 1, 0, 1, 0, 1]);
    const s = new SoftmaxStSampler({ noise: 0 }).sample(alpha, av, state, new Rng(1));
    assert.deepEqual(s.hard, [0, 1, 0, 1, 0, 1]);
    assert.deepEqual(Array.from(s.mask.dataSync()).map(Math.round), s.hard, 'its forward value is the hard mask');
    // its gradient scale is that of a distribution summing to 1, not k
    const gradSum = (sampler: MaskSampler) =>
      Array.from(
        tf
          .grad((x: tf.Tensor) => tf.sum(sampler.sample(x as tf.Tensor1D, av, state, new Rng(1)).mask))(alpha)
          .dataSync(),
      ).reduce((p, q) => p + Math.abs(q), 0);
    assert.ok(gradSum(new SoftmaxStSampler({ noise: 0 })) < 1e-5, 'softmax mask sums to 1 regardless of α');
    assert.ok(gradSum(new DeterministicTopKSampler()) < 1e-4, 'relaxed top-k sums to k regardless of α');
  });
});
