import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@e3/core';
import { GumbelTopKSampler, gumbelNoise, relaxedTopK } from '@e3/plugins';
import { useBackend } from '../helpers/tf.js';

/**
 * The relaxed top-k (METHOD.md Stage 1, step 3) in float64, written from the formula and not from
 * the code: w¹ = s; a^j = softmax(w^j/τ); w^{j+1} = w^j + log(max(1 − a^j, ε)); m = Σ_j a^j.
 */
function relaxedTopK64(s: readonly number[], k: number, tau: number, eps = 1e-20): number[] {
  let w = s.slice();
  const m = s.map(() => 0);
  for (let j = 0; j < k; j++) {
    const top = Math.max(...w.map((x) => x / tau));
    const e = w.map((x) => Math.exp(x / tau - top));
    const z = e.reduce((a, b) => a + b, 0);
    const a = e.map((x) => x / z);
    a.forEach((x, i) => (m[i] += x));
    w = w.map((x, i) => x + Math.log(Math.max(1 - a[i], eps)));
  }
  return m;
}

/** ∂(Σ_i c_i·f(s)_i)/∂s by central differences of a float64 f (step h: error O(h²) ≈ 1e-10). */
function finiteDifference(f: (s: number[]) => number[], s: readonly number[], c: readonly number[], h = 1e-5) {
  const dot = (m: number[]) => m.reduce((a, x, i) => a + c[i] * x, 0);
  return s.map((_, l) => {
    const up = s.slice();
    const down = s.slice();
    up[l] += h;
    down[l] -= h;
    return (dot(f(up)) - dot(f(down))) / (2 * h);
  });
}

/** The layer weights c the gradients are taken against (a fixed, uneven direction). */
const C = [0.7, -1.3, 2.1, 0.4, -0.6];
const SCORES = [0.3, -0.8, 1.1, 0.2, -0.1];
/** float32 gradients of entries of order 1/τ ≤ 4: well within 1e-4 of the float64 ones. */
const TOL = 1e-4;

function assertGradient(got: ArrayLike<number>, want: readonly number[], what: string): void {
  want.forEach((w, l) =>
    assert.ok(Math.abs(got[l] - w) < TOL, `${what}: ∂/∂s${l} = ${got[l]}, finite differences ${w} (± ${TOL})`),
  );
}

describe('relaxed top-k and the Gumbel-TopK mask: gradients against float64 finite differences', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`relaxedTopK's gradient for k = 1…4, τ = 0.25…2 (${backend})`, async () => {
      await useBackend(backend);
      for (const k of [1, 2, 3, 4])
        for (const tau of [0.25, 0.7, 2]) {
          const got = tf.tidy(() =>
            tf
              .grad((s: tf.Tensor) => tf.sum(tf.mul(relaxedTopK(s as tf.Tensor1D, k, tau), tf.tensor1d(C))))(
                tf.tensor1d(SCORES),
              )
              .dataSync(),
          );
          const want = finiteDifference((s) => relaxedTopK64(s, k, tau), SCORES, C);
          assert.ok(
            want.some((g) => Math.abs(g) > 0.05),
            `k ${k}, τ ${tau}: a gradient worth checking`,
          );
          assertGradient(got, want, `k ${k}, τ ${tau}`);
        }
    });
  }

  it("Gumbel-TopK's mask: forward the hard top-k of α + g, gradient the relaxed top-k's of α + g", async () => {
    await useBackend('cpu');
    const alpha = [0.5, -0.2, 1.1, 0.0, 0.3];
    const state = { k: 3, tau: 0.6, progress: 0.5 };
    // noise from 2 to 0.5 at progress 0.5: scale 2·(0.5/2)^0.5 = 1; the same seed draws the same g.
    const sampler = new GumbelTopKSampler({ noise: { from: 2, to: 0.5 } });
    const g = gumbelNoise(alpha.length, new Rng(9), 1);
    const perturbed = alpha.map((a, i) => a + g[i]);
    const got = tf.tidy(() => {
      const x = tf.tensor1d(alpha);
      const sample = sampler.sample(x, alpha, state, new Rng(9));
      const order = [...perturbed.keys()].sort((a, b) => perturbed[b] - perturbed[a]).slice(0, 3);
      assert.deepEqual(
        sample.hard,
        alpha.map((_, i) => (order.includes(i) ? 1 : 0)),
      );
      assert.deepEqual(Array.from(sample.mask.dataSync()).map(Math.round), sample.hard);
      const fn = (a: tf.Tensor) =>
        tf.sum(tf.mul(sampler.sample(a as tf.Tensor1D, alpha, state, new Rng(9)).mask, tf.tensor1d(C)));
      return tf.grad(fn)(x).dataSync();
    });
    // ∂m/∂α = ∂m/∂(α + g): the noise is a constant shift.
    const want = finiteDifference((a) => relaxedTopK64(a, 3, 0.6), perturbed, C);
    assertGradient(got, want, 'Gumbel-TopK mask');
  });
});
