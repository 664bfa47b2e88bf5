import * as tf from '@tensorflow/tfjs-core';
import {
  activeAddon,
  headPick,
  headPickGrad,
  markGradientAccumulator,
  matMulAccumulate,
  nativeHeadRows,
} from '@e3/native';
import { chunks, headChunkRows, headLogits, idColumns, joinRows, pick, rowsOf, unpick } from './chunked-head.js';
import type { DecoderModel, ForwardOptions } from './decoder.js';

/**
 * What a loss term sees of the student's output distribution q: per-token statistics rather
 * than logits [B, T, V], which a large vocabulary cannot hold at once (model/chunked-head.ts
 * computes them chunk by chunk; `tokensFromLogits` from whole logits).
 */
export interface StudentTokens {
  /** [B, T, k] log q at the teacher's top-k ids (when the batch has teacher targets). */
  readonly logQTop?: tf.Tensor3D;
  /** [B, T] log q of the next-token label (id 0 where the label is −1). */
  readonly logQLabel: tf.Tensor2D;
  /** [B, T] (1/V)·Σ_v log q_v (the uniform part of label smoothing). */
  readonly meanLogQ: tf.Tensor2D;
}

export interface StudentTokensArgs {
  /** Token rows per chunk (0 or absent: {@link headChunkRows}'s default). */
  chunkTokens?: number;
  /** [B, T] next-token ids (−1 where none: read as id 0, the caller's weights mask it). */
  labels: tf.Tensor2D;
  /** [B, T, k] the teacher's top-k ids, when the terms compare with a teacher. */
  topIds?: tf.Tensor3D;
  /** Differentiate with respect to the head weight too (training; the mask search keeps it frozen). */
  trainHead: boolean;
}

/** f(x), disposing x: one [c, V] intermediate at a time. */
function swap<T extends tf.Tensor>(x: T, f: (x: T) => T): T {
  const y = f(x);
  x.dispose();
  return y;
}

type Save = (t: tf.Tensor[]) => void;

/**
 * The student's per-token statistics (see {@link StudentTokens}) from final-norm rows `final`
 * [B·T, d] and the head `head` [V, d], differentiable with respect to `final` (and `head` when
 * `trainHead`). One `tf.customGrad` (the fused linear-cross-entropy idea of the Liger kernel):
 * its forward pass keeps the statistics and the last chunk's logits, its backward pass starts
 * from those and recomputes the other chunks' logits.
 * Each statistic is a picked or averaged log-softmax, so with upstream gradients g the
 * logits' gradient is scatter(g) + g_mean/V − softmax·Σg.
 */
export function studentTokens(final: tf.Tensor2D, head: tf.Tensor2D, a: StudentTokensArgs): StudentTokens {
  const [b, t] = a.labels.shape;
  const n = b * t;
  const v = head.shape[0];
  const k = a.topIds?.shape[2] ?? 0;
  const cols = idColumns(a.labels, a.topIds);
  const parts = chunks(n, headChunkRows(v, a.chunkTokens));
  const logitsOf = (h: tf.Tensor2D, w: tf.Tensor2D, s: number, c: number) => headLogits(rowsOf(h, s, c), w);
  // [N, k + 2]: picked log-probabilities, then the mean one. logSoftmax as the teacher cache computes it,
  // so a student equal to its teacher has a KL of exactly 0 (Adam would amplify rounding into steps).
  const native = nativeHeadRows();
  // The statistics, and the last chunk's logits kept for the backward pass, which starts from
  // them instead of computing them again (one of the head's three or four matmuls per chunk).
  const stats = (h: tf.Tensor2D, w: tf.Tensor2D): { value: tf.Tensor2D; lastLogits: tf.Tensor2D } => {
    let lastLogits: tf.Tensor2D | undefined;
    const value = joinRows(
      parts.map(([s, c], i) =>
        tf.tidy(() => {
          const z = logitsOf(h, w, s, c);
          if (i === parts.length - 1) lastLogits = tf.keep(z);
          if (native) return headPick(z, rowsOf(cols, s, c));
          const logq = tf.logSoftmax(z);
          return tf.concat([pick(logq, rowsOf(cols, s, c)), tf.mean(logq, -1, true) as tf.Tensor2D], 1);
        }),
      ),
    );
    return { value, lastLogits: lastLogits! };
  };
  // The gradient to one chunk's logits [c, V], from the chunk's logits z (disposed).
  const chunkDz = (dy: tf.Tensor2D, z: tf.Tensor2D, ids: tf.Tensor2D, s: number, c: number) => {
    const g = rowsOf(dy, s, c);
    if (native) return swap(z, (x) => headPickGrad(x, rowsOf(ids, s, c), g));
    let dz = swap(swap(z, tf.logSoftmax), tf.exp);
    dz = swap(dz, (p) => tf.sub(tf.div(tf.slice(g, [0, k + 1], [c, 1]), v), tf.mul(p, tf.sum(g, 1, true))));
    const picked = unpick(tf.slice(g, [0, 0], [c, k + 1]), rowsOf(ids, s, c), v);
    return swap(dz, (x) => tf.add(x, picked));
  };
  // d rows = dz·W per chunk; dW = Σ dzᵀ·rows summed in place over the chunks (one [V, d] buffer, sgemm β = 1).
  // The last chunk goes first, from its kept logits, which are then freed before the other chunks' logits exist.
  const backward = (dy: tf.Tensor2D, h: tf.Tensor2D, w: tf.Tensor2D, ids: tf.Tensor2D, kept: tf.Tensor2D) => {
    const addon = activeAddon();
    let dw: tf.Tensor2D | undefined;
    const dh: tf.Tensor2D[] = [];
    const last = parts.length - 1;
    for (const i of [last, ...parts.keys()].slice(0, parts.length)) {
      const [s, c] = parts[i];
      const [dz, rows] = tf.tidy(() => [
        chunkDz(dy, i === last ? kept : logitsOf(h, w, s, c), ids, s, c),
        rowsOf(h, s, c),
      ]) as tf.Tensor2D[];
      dh[i] = tf.matMul(dz, w);
      if (a.trainHead)
        dw = dw
          ? matMulAccumulate(addon, dw, dz, rows, { transA: true })
          : (tf.matMul(dz, rows, true, false) as tf.Tensor2D);
      tf.dispose([dz, rows]);
    }
    if (!a.trainHead) return [joinRows(dh)];
    // A tied embedding's lookup gradient is then summed into this one in place (native/src/gradient-sum.ts).
    markGradientAccumulator(dw!);
    return [joinRows(dh), dw!];
  };
  // The tape keeps what is saved (a clone sharing the memory) only while it records; without it the kept logits go here.
  const forward = (h: tf.Tensor2D, w: tf.Tensor2D, save: Save, saved: tf.Tensor[]) => {
    const { value, lastLogits } = stats(h, w);
    save([...saved, lastLogits]);
    lastLogits.dispose();
    return value;
  };
  // The tape frees what the forward pass made unless it is saved: the rows, the ids, a trained head.
  const all = (
    a.trainHead
      ? (
          tf.customGrad(((h: tf.Tensor2D, w: tf.Tensor2D, save: Save) => ({
            value: forward(h, w, save, [h, w, cols]),
            gradFunc: (dy: tf.Tensor2D, s: tf.Tensor2D[]) => backward(dy, s[0], s[1], s[2], s[3]),
          })) as never) as unknown as (h: tf.Tensor, w: tf.Tensor) => tf.Tensor
        )(final, head)
      : (
          tf.customGrad(((h: tf.Tensor2D, save: Save) => ({
            value: forward(h, head, save, [h, cols]),
            gradFunc: (dy: tf.Tensor2D, s: tf.Tensor2D[]) => backward(dy, s[0], head, s[1], s[2]),
          })) as never) as unknown as (h: tf.Tensor) => tf.Tensor
        )(final)
  ) as tf.Tensor2D;
  return split(all, b, t, k, Boolean(a.topIds));
}

/** [N, k + 2] statistics as {@link StudentTokens}. */
function split(all: tf.Tensor2D, b: number, t: number, k: number, top: boolean): StudentTokens {
  const col = (j: number, m: number) => tf.slice(all, [0, j], [b * t, m]);
  return {
    logQTop: top ? tf.reshape(col(0, k), [b, t, k]) : undefined,
    logQLabel: tf.reshape(col(k, 1), [b, t]),
    meanLogQ: tf.reshape(col(k + 1, 1), [b, t]),
  };
}

/** The same statistics from whole logits [B, T, V] (plain ops): the unchunked reference, and small tests. */
export function tokensFromLogits(logits: tf.Tensor3D, labels: tf.Tensor2D, topIds?: tf.Tensor3D): StudentTokens {
  const [b, t, v] = logits.shape;
  const k = topIds?.shape[2] ?? 0;
  const logq = tf.reshape(tf.logSoftmax(logits), [b * t, v]) as tf.Tensor2D;
  const stats = tf.concat([pick(logq, idColumns(labels, topIds)), tf.mean(logq, -1, true) as tf.Tensor2D], 1);
  return split(stats, b, t, k, Boolean(topIds));
}

/**
 * The model's forward pass to per-token statistics: the trunk (forwardFinal), then
 * {@link studentTokens} on its final-norm rows; `hidden` as forwardFinal returns it.
 */
export function forwardTokens(
  model: DecoderModel,
  ids: tf.Tensor2D,
  o: ForwardOptions & StudentTokensArgs,
): { student: StudentTokens; hidden?: tf.Tensor3D[] } {
  const { final, hidden } = model.forwardFinal(ids, o);
  return { student: studentTokens(final, model.headWeight, o), hidden };
}
