import * as tf from '@tensorflow/tfjs-core';
import type { DecoderConfig } from './config.js';

/**
 * Rotary inverse frequencies θ_i = base^(-2i/D), with Llama 3 scaling when configured:
 * long wavelengths are divided by `factor`, short ones kept, and the band between is
 * interpolated smoothly (transformers' `_compute_llama3_parameters`).
 */
export function inverseFrequencies(c: DecoderConfig): Float32Array {
  const half = c.headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(c.ropeTheta, (2 * i) / c.headDim);
  const s = c.ropeScaling;
  if (!s) return inv;
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  for (let i = 0; i < half; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen < highWavelen) continue;
    if (wavelen > lowWavelen) {
      inv[i] = inv[i] / s.factor;
      continue;
    }
    const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
  }
  return inv;
}

/** cos and sin of shape [B, T, 1, D] for integer positions [B, T] (HF layout: frequencies repeated twice). */
export function rotaryTables(positions: tf.Tensor2D, invFreq: tf.Tensor1D): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
  return tf.tidy(() => {
    const [b, t] = positions.shape;
    const freqs = tf.mul(tf.expandDims(tf.cast(positions, 'float32'), 2), tf.reshape(invFreq, [1, 1, -1]));
    const emb = tf.reshape(tf.concat([freqs, freqs], 2), [b, t, 1, -1]);
    return { cos: tf.cos(emb) as tf.Tensor4D, sin: tf.sin(emb) as tf.Tensor4D };
  });
}

const rotations = new Map<string, tf.Tensor2D>();

/**
 * rotate_half as a fixed D×D signed permutation R (x·R = concat(−x₂, x₁)): one matmul instead
 * of split + neg + concat and their gradients — fewer kernels per step, and exact (each output
 * is one input times ±1). Cached per backend and head size for the life of the process (a tensor
 * of another backend would be moved on use, and webgpu cannot be read synchronously in Node).
 */
function rotateHalfMatrix(d: number): tf.Tensor2D {
  const key = `${tf.getBackend()}:${d}`;
  let r = rotations.get(key);
  if (!r) {
    const m = new Float32Array(d * d);
    for (let j = 0; j < d / 2; j++) {
      m[(j + d / 2) * d + j] = -1; // out[j] = −x[j + d/2]
      m[j * d + j + d / 2] = 1; // out[j + d/2] = x[j]
    }
    r = tf.keep(tf.tensor2d(m, [d, d]));
    rotations.set(key, r);
  }
  return r;
}

/** x·cos + rotate_half(x)·sin for x of shape [B, T, H, D]. */
export function applyRotary(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  const d = x.shape[3];
  const rotated = tf.reshape(
    tf.matMul(tf.reshape(x, [-1, d]) as tf.Tensor2D, rotateHalfMatrix(d)),
    x.shape,
  ) as tf.Tensor4D;
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin));
}
