import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@e3/core';

/**
 * Relaxed top-k (Xie & Ermon 2019): w¹ = scores; for j = 1..k: a^j = softmax(w^j / τ),
 * w^{j+1} = w^j + log(max(1 − a^j, ε)); returns Σ_j a^j, which sums to k and tends to the
 * hard top-k indicator as τ → 0. Differentiable in `scores`.
 */
export function relaxedTopK(scores: tf.Tensor1D, k: number, tau: number, eps = 1e-20): tf.Tensor1D {
  return tf.tidy(() => {
    let w: tf.Tensor1D = scores;
    let sum: tf.Tensor1D = tf.zerosLike(scores);
    for (let j = 0; j < k; j++) {
      const a = tf.softmax(tf.div(w, tau)) as tf.Tensor1D;
      sum = tf.add(sum, a);
      w = tf.add(w, tf.log(tf.maximum(tf.sub(1, a), eps)));
    }
    return sum;
  });
}

/** Indices of the k largest values (ties: lower index first). */
export function topKIndices(values: ArrayLike<number>, k: number): number[] {
  return [...Array(values.length).keys()].sort((a, b) => values[b] - values[a] || a - b).slice(0, k);
}

/** The 0/1 indicator of the k largest values. */
export function hardTopK(values: ArrayLike<number>, k: number): number[] {
  const keep = new Set(topKIndices(values, k));
  return Array.from({ length: values.length }, (_, i) => (keep.has(i) ? 1 : 0));
}

/** g = −log(−log u), u ~ U(0,1) from the run's RNG, times `scale`. */
export function gumbelNoise(n: number, rng: Rng, scale = 1): number[] {
  return Array.from({ length: n }, () => -Math.log(-Math.log(rng.nextOpen())) * scale);
}
