import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@e3/core';
import { expectedTensors, type DecoderConfig } from './config.js';

/**
 * Random initial weights from the run's RNG (reproducible): projections and embeddings
 * ~ N(0, std²), norms = 1, biases = 0 — the Hugging Face `_init_weights` convention.
 */
export function initWeights(c: DecoderConfig, rng: Rng, std = 0.02): Map<string, tf.Tensor> {
  const named = new Map<string, tf.Tensor>();
  for (const [name, shape] of expectedTensors(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (name.endsWith('norm.weight')) data.fill(1);
    else if (!name.endsWith('.bias')) for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
    named.set(name, tf.tensor(data, shape));
  }
  return named;
}
