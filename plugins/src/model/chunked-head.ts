import * as tf from '@tensorflow/tfjs-core';
import type { StudentTokens } from '../loss/loss-term.js';
import type { DecoderModel, ForwardOptions } from './decoder.js';

/**
 * The output head (final-norm rows × lm_head or the tied embedding) fused with what is taken
 * from its softmax, over chunks of token rows, so that no [B·T, V] tensor exists at once: a
 * Qwen3-sized vocabulary (151,936) at B·T = 1,568 is 953M floats, beyond a typed array.
 * Without gradients each chunk is reduced and freed; with gradients {@link studentTokens} is
 * one `tf.customGrad` whose forward keeps only per-token statistics and whose backward
 * recomputes each chunk's logits (the fused linear-cross-entropy idea of the Liger kernel).
 */

/** What one chunk's logits [rows, V] (f32) may occupy when no chunk size is given: 64 MiB. */
export const HEAD_CHUNK_BYTES = 64 * 2 ** 20;

/** Token rows per chunk: `requested` when > 0, else as many as fit {@link HEAD_CHUNK_BYTES}. */
export function headChunkRows(vocabSize: number, requested = 0): number {
  return requested > 0 ? requested : Math.max(1, Math.floor(HEAD_CHUNK_BYTES / (4 * vocabSize)));
}

/** [start, size] of each chunk of `n` rows. */
function chunks(n: number, rows: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += rows) out.push([s, Math.min(rows, n - s)]);
  return out;
}

const rowsOf = (x: tf.Tensor2D, s: number, c: number) => tf.slice(x, [s, 0], [c, x.shape[1]]) as tf.Tensor2D;

/** z[i, cols[i, j]] for logits z [c, V] and int32 cols [c, m]: [c, m]. */
function pick(z: tf.Tensor2D, cols: tf.Tensor2D): tf.Tensor2D {
  const [c, v] = z.shape;
  const flat = tf.add(cols, tf.mul(tf.reshape(tf.range(0, c, 1, 'int32'), [c, 1]), tf.scalar(v, 'int32')));
  return tf.reshape(tf.gather(tf.reshape(z, [-1]), tf.reshape(flat, [-1])), cols.shape) as tf.Tensor2D;
}

/** The transpose of {@link pick}: a [c, V] tensor with `upd` [c, m] added at (i, cols[i, j]) (repeats add up). */
function unpick(upd: tf.Tensor2D, cols: tf.Tensor2D, v: number): tf.Tensor2D {
  const [c, m] = cols.shape;
  const flat = tf.add(cols, tf.mul(tf.reshape(tf.range(0, c, 1, 'int32'), [c, 1]), tf.scalar(v, 'int32')));
  return tf.reshape(tf.scatterND(tf.reshape(flat, [c * m, 1]), tf.reshape(upd, [c * m]), [c * v]), [c, v]) as tf.Tensor2D;
}

/** f(x), disposing x. */
function swap<T extends tf.Tensor>(x: T, f: (x: T) => T): T {
  const y = f(x);
  x.dispose();
  return y;
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

/**
 * The student's per-token statistics (see {@link StudentTokens}) from final-norm rows
 * `final` [B·T, d] and the head `head` [V, d], chunk by chunk, differentiable with respect to
 * `final` (and `head` when `trainHead`). Each statistic is a picked or averaged log-softmax, so with upstream gradients g the logits' gradient is
 * scatter(g) + g_mean/V − softmax·Σg, which the backward pass forms chunk by chunk.
 */
export function studentTokens(final: tf.Tensor2D, head: tf.Tensor2D, a: StudentTokensArgs): StudentTokens {
  const [b, t] = a.labels.shape;
  const n = b * t;
  const v = head.shape[0];
  const k = a.topIds?.shape[2] ?? 0;
  const labelCol = tf.reshape(tf.maximum(a.labels, tf.scalar(0, 'int32')), [n, 1]) as tf.Tensor2D;
  const cols = (a.topIds ? tf.concat([tf.reshape(a.topIds, [n, k]), labelCol], 1) : labelCol) as tf.Tensor2D;
  const parts = chunks(n, headChunkRows(v, a.chunkTokens));
  const logitsOf = (h: tf.Tensor2D, w: tf.Tensor2D, s: number, c: number) => tf.matMul(rowsOf(h, s, c), w, false, true) as tf.Tensor2D;
  // Forward: the statistics [N, k+2] (picked log-probabilities, then the mean one). logSoftmax as the teacher
  // cache computes it, so a student equal to its teacher has a KL of exactly 0 (Adam would amplify the rounding).
  const stats = (h: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D => {
    const per = parts.map(([s, c]) => tf.tidy(() => {
      const logq = tf.logSoftmax(logitsOf(h, w, s, c)) as tf.Tensor2D;
      return tf.concat([pick(logq, rowsOf(cols, s, c)), tf.mean(logq, -1, true) as tf.Tensor2D], 1);
    }));
    const out = per.length === 1 ? per[0] : tf.concat(per, 0);
    if (per.length > 1) per.forEach((x) => x.dispose());
    return out as tf.Tensor2D;
  };
  // Backward, one chunk at a time; each [c, V] intermediate is freed as soon as the next exists.
  const backward = (dy: tf.Tensor2D, h: tf.Tensor2D, w: tf.Tensor2D, idCols: tf.Tensor2D): tf.Tensor[] => {
    let dw: tf.Tensor | undefined;
    const dh = parts.map(([s, c]) => {
      const [dhc, dwc] = tf.tidy(() => {
        const g = rowsOf(dy, s, c);
        let dz = logitsOf(h, w, s, c);
        dz = swap(dz, tf.logSoftmax);
        dz = swap(dz, tf.exp);
        dz = swap(dz, (p) => tf.sub(tf.div(tf.slice(g, [0, k + 1], [c, 1]), v), tf.mul(p, tf.sum(g, 1, true))));
        const picked = unpick(tf.slice(g, [0, 0], [c, k + 1]) as tf.Tensor2D, rowsOf(idCols, s, c), v);
        dz = swap(dz, (x) => tf.add(x, picked));
        picked.dispose();
        return [tf.matMul(dz, w), a.trainHead ? tf.matMul(dz, rowsOf(h, s, c), true, false) : tf.zeros([0])];
      });
      if (a.trainHead) { const sum = dw ? tf.add(dw, dwc) : dwc; if (dw) { dw.dispose(); dwc.dispose(); } dw = sum; }
      else dwc.dispose();
      return dhc;
    });
    const dFinal = tf.concat(dh, 0);
    dh.forEach((x) => x.dispose());
    return a.trainHead ? [dFinal, dw!] : [dFinal];
  };
  // The tape frees what the forward pass made unless it is saved: the rows, the ids, a trained head.
  type Save = (t: tf.Tensor[]) => void;
  const run = a.trainHead
    ? tf.customGrad(((h: tf.Tensor2D, w: tf.Tensor2D, save: Save) => {
      save([h, w, cols]);
      return { value: stats(h, w), gradFunc: (dy: tf.Tensor2D, [sh, sw, sc]: tf.Tensor2D[]) => backward(dy, sh, sw, sc) };
    }) as never)
    : tf.customGrad(((h: tf.Tensor2D, save: Save) => {
      save([h, cols]);
      return { value: stats(h, head), gradFunc: (dy: tf.Tensor2D, [sh, sc]: tf.Tensor2D[]) => backward(dy, sh, head, sc) };
    }) as never);
  const all = (a.trainHead ? (run as (h: tf.Tensor, w: tf.Tensor) => tf.Tensor)(final, head) : (run as (h: tf.Tensor) => tf.Tensor)(final)) as tf.Tensor2D;
  return {
    logQTop: a.topIds ? tf.reshape(tf.slice(all, [0, 0], [n, k]), [b, t, k]) as tf.Tensor3D : undefined,
    logQLabel: tf.reshape(tf.slice(all, [0, k], [n, 1]), [b, t]) as tf.Tensor2D,
    meanLogQ: tf.reshape(tf.slice(all, [0, k + 1], [n, 1]), [b, t]) as tf.Tensor2D,
  };
}

/** The same statistics from whole logits [B, T, V] (plain ops): the unchunked reference, and small tests. */
export function tokensFromLogits(logits: tf.Tensor3D, labels: tf.Tensor2D, topIds?: tf.Tensor3D): StudentTokens {
  const [b, t, v] = logits.shape;
  const logq = tf.reshape(tf.logSoftmax(logits), [b * t, v]) as tf.Tensor2D;
  const label = pick(logq, tf.reshape(tf.maximum(labels, tf.scalar(0, 'int32')), [b * t, 1]) as tf.Tensor2D);
  const k = topIds?.shape[2] ?? 0;
  return {
    logQTop: topIds ? tf.reshape(pick(logq, tf.reshape(topIds, [b * t, k]) as tf.Tensor2D), [b, t, k]) as tf.Tensor3D : undefined,
    logQLabel: tf.reshape(label, [b, t]) as tf.Tensor2D,
    meanLogQ: tf.reshape(tf.mean(logq, -1), [b, t]) as tf.Tensor2D,
  };
}

/**
 * Per-token values [N] of `fn` over chunks, without gradients: `fn` gets each model's
 * log-softmax of the chunk's logits ([c, V], from `finals[i]` [N, d] and `heads[i]` [V, d]) and
 * the chunk's first row and size. Only one chunk's log-probabilities exist at a time.
 */
export function headPerToken(finals: readonly tf.Tensor2D[], heads: readonly tf.Tensor2D[], fn: (logp: tf.Tensor2D[], start: number, size: number) => tf.Tensor1D, chunkTokens = 0): tf.Tensor1D {
  const rows = headChunkRows(heads[0].shape[0], chunkTokens);
  const out = chunks(finals[0].shape[0], rows).map(([s, c]) => tf.tidy(() => {
    return fn(finals.map((f, i) => tf.logSoftmax(tf.matMul(rowsOf(f, s, c), heads[i], false, true)) as tf.Tensor2D), s, c);
  }));
  const all = out.length === 1 ? out[0] : tf.concat(out, 0);
  if (out.length > 1) out.forEach((x) => x.dispose());
  return all as tf.Tensor1D;
}

/** log q(label) per token [N] from log-probabilities [c, V] and labels [N] (−1 read as 0). */
export function labelLogProb(logq: tf.Tensor2D, labels: tf.Tensor1D, start: number, size: number): tf.Tensor1D {
  const ids = tf.reshape(tf.maximum(tf.slice(labels, [start], [size]), tf.scalar(0, 'int32')), [size, 1]) as tf.Tensor2D;
  return tf.reshape(pick(logq, ids), [size]) as tf.Tensor1D;
}

/** KL(p‖q) per row of log-probabilities [c, V]: [c]. */
export function rowKl(logp: tf.Tensor2D, logq: tf.Tensor2D): tf.Tensor1D {
  return tf.sum(tf.mul(tf.exp(logp), tf.sub(logp, logq)), -1) as tf.Tensor1D;
}

/**
 * A teacher's top-k ids and log-probabilities ([N, k]) and full-vocabulary entropy ([N]) per
 * row of `final` [N, d], chunk by chunk (no gradients).
 */
export function teacherTopK(final: tf.Tensor2D, head: tf.Tensor2D, k: number, chunkTokens = 0): { ids: tf.Tensor2D; logProbs: tf.Tensor2D; entropy: tf.Tensor1D } {
  const rows = headChunkRows(head.shape[0], chunkTokens);
  const parts = chunks(final.shape[0], rows).map(([s, c]) => tf.tidy(() => {
    const logp = tf.logSoftmax(tf.matMul(rowsOf(final, s, c), head, false, true));
    const { values, indices } = tf.topk(logp, k);
    return [indices, values, tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1))];
  }));
  const join = (i: number) => {
    const out = parts.length === 1 ? parts[0][i] : tf.concat(parts.map((p) => p[i]), 0);
    if (parts.length > 1) parts.forEach((p) => p[i].dispose());
    return out;
  };
  return { ids: join(0) as tf.Tensor2D, logProbs: join(1) as tf.Tensor2D, entropy: join(2) as tf.Tensor1D };
}

/**
 * The model's forward pass to per-token statistics: the trunk (forwardFinal), then
 * {@link studentTokens} on its final-norm rows. `hidden` as forwardFinal returns it.
 */
export function forwardTokens(model: DecoderModel, ids: tf.Tensor2D, o: ForwardOptions & StudentTokensArgs): { student: StudentTokens; hidden?: tf.Tensor3D[] } {
  const { final, hidden } = model.forwardFinal(ids, o);
  return { student: studentTokens(final, model.headWeight, o), hidden };
}

/** The `headChunkTokens` param of the nodes that run an output head. */
export const HEAD_CHUNK_SCHEMA = {
  type: 'integer', minimum: 0, default: 0,
  description: 'token rows per chunk of the output head and its softmax (0 = automatic: 64 MiB of logits per chunk)',
};
