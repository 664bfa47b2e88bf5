import * as tf from '@tensorflow/tfjs-core';
import { ADAMW_KERNEL, fusedAdamW } from '@e3/native';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/**
 * AdamW (Loshchilov & Hutter) with decoupled weight decay on matrices only (norm weights
 * and biases are not decayed). Its moments are plain tensors so they can be checkpointed.
 */
export class AdamW {
  step = 0;
  readonly m: tf.Tensor[];
  readonly v: tf.Tensor[];

  constructor(
    readonly vars: readonly tf.Variable[],
    readonly opt: AdamWOptions,
  ) {
    this.m = vars.map((x) => tf.keep(tf.zerosLike(x)));
    this.v = vars.map((x) => tf.keep(tf.zerosLike(x)));
  }

  /**
   * One update with learning rate `lr` from gradients in the order of `vars`, each multiplied by
   * `gradScale` (global-norm clipping: {@link globalNormScale}) inside the update, not copied.
   */
  apply(grads: readonly tf.Tensor[], lr: number, gradScale = 1): void {
    this.step++;
    const { beta1, beta2, eps, weightDecay } = this.opt;
    const bc1 = 1 - Math.pow(beta1, this.step);
    const bc2 = 1 - Math.pow(beta2, this.step);
    const fused = fusedAdamW();
    this.vars.forEach((x, i) => {
      const raw = grads[i];
      if (fused) {
        // One pass per parameter (@e3/native's E3AdamW on wasm and cpu) instead of ~13 dispatched ops.
        const decay = weightDecay > 0 && x.rank >= 2 ? weightDecay : 0;
        const [w2, m2, v2] = tf.engine().runKernel(ADAMW_KERNEL, { w: x, g: raw, m: this.m[i], v: this.v[i] }, {
          lr,
          beta1,
          beta2,
          eps,
          decay,
          bc1,
          bc2,
          gradScale,
        } as never) as tf.Tensor[];
        this.m[i].dispose();
        this.v[i].dispose();
        this.m[i] = tf.keep(m2);
        this.v[i] = tf.keep(v2);
        x.assign(w2);
        w2.dispose();
        return;
      }
      const [m, v] = tf.tidy(() => {
        const g = gradScale === 1 ? raw : tf.mul(raw, gradScale);
        return [
          tf.add(tf.mul(this.m[i], beta1), tf.mul(g, 1 - beta1)),
          tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(g), 1 - beta2)),
        ];
      });
      this.m[i].dispose();
      this.v[i].dispose();
      this.m[i] = tf.keep(m);
      this.v[i] = tf.keep(v);
      tf.tidy(() => {
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), eps));
        const decayed = weightDecay > 0 && x.rank >= 2 ? tf.mul(x, 1 - lr * weightDecay) : x;
        x.assign(tf.sub(decayed, tf.mul(update, lr)));
      });
    });
  }

  /** Replaces the moments and step (resume). */
  load(step: number, m: readonly tf.Tensor[], v: readonly tf.Tensor[]): void {
    this.step = step;
    this.m.forEach((t, i) => {
      t.dispose();
      this.m[i] = tf.keep(m[i]);
    });
    this.v.forEach((t, i) => {
      t.dispose();
      this.v[i] = tf.keep(v[i]);
    });
  }

  dispose(): void {
    [...this.m, ...this.v].forEach((t) => t.dispose());
  }
}

/**
 * The global L2 norm of the gradients and the factor that brings it down to `maxNorm` (1 when
 * it is within, clipping is off or the norm is not finite). AdamW.apply takes the factor, so
 * clipping costs no scaled copy of every gradient (2.2 GiB for a 0.6B model).
 */
export async function globalNormScale(grads: tf.Tensor[], maxNorm: number): Promise<{ norm: number; scale: number }> {
  const sq = tf.tidy(() => tf.addN(grads.map((g) => tf.sum(tf.square(g)))));
  const norm = Math.sqrt((await sq.data())[0]);
  sq.dispose();
  if (!(maxNorm > 0) || norm <= maxNorm || !Number.isFinite(norm)) return { norm, scale: 1 };
  return { norm, scale: maxNorm / (norm + 1e-6) };
}

/** Linear warm-up to `peak`, then cosine decay to `peak × minRatio` at `total` steps. */
export function warmupCosine(step: number, total: number, warmup: number, peak: number, minRatio: number): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const p = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * p)));
}
