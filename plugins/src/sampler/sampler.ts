import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@e3/core';
import { stopGradient } from '../maths/stop-gradient.js';

/** One draw of a layer mask from logits α. */
export interface MaskSample {
  /** The mask the forward pass uses: forward value = `hard`, gradient through the relaxation. */
  readonly mask: tf.Tensor1D;
  /** The hard 0/1 mask with Σ = k. */
  readonly hard: number[];
}

/** Where the search is in its schedules. */
export interface SampleState {
  /** Layers the mask keeps at this step (the curriculum lowers it from L to K). */
  k: number;
  /** The relaxation's temperature τ at this step (annealed). */
  tau: number;
  /** Search progress in [0, 1]. */
  progress: number;
}

/**
 * A sampler component (`sampler.*`): turns mask logits into a straight-through mask.
 * Swapping it is the search ablation (Gumbel-TopK vs deterministic vs softmax surrogate).
 */
export interface MaskSampler {
  /** The sampler's name in reports. */
  readonly name: string;
  /**
   * `alphaValues` are α's current values, read before the gradient tape (asynchronously, so
   * GPU backends work): hard masks are chosen in JS, soft masks from the tensor.
   */
  sample(alpha: tf.Tensor1D, alphaValues: readonly number[], state: SampleState, rng: Rng): MaskSample;
}

/** m = m_hard + m_soft − stopGradient(m_soft): forward value m_hard, gradient of m_soft. */
export function straightThrough(hard: number[], soft: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => tf.add(tf.sub(soft, stopGradient(soft)), tf.tensor1d(hard)));
}

/** Exponential interpolation from `from` to `to` over progress ∈ [0, 1]. */
export function expSchedule(from: number, to: number, progress: number): number {
  return from * Math.pow(to / from, Math.min(1, Math.max(0, progress)));
}

export const annealSchema = (from: number, to: number, what: string) => ({
  type: 'object',
  additionalProperties: false,
  default: { from, to },
  properties: {
    from: { type: 'number', exclusiveMinimum: 0, default: from },
    to: { type: 'number', exclusiveMinimum: 0, default: to },
  },
  description: `${what}, annealed exponentially from → to over the search`,
});
