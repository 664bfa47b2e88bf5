import * as tf from '@tensorflow/tfjs-core';
import { headKl, headPick, headTopK, nativeHeadRows } from '@e3/native';

/**
 * The output head (final-norm rows × lm_head or the tied embedding) fused with what is taken
 * from its softmax, over chunks of token rows, so that no [B·T, V] tensor exists at once: a
 * Qwen3-sized vocabulary (151,936) at B·T = 1,568 is 953M floats, beyond a typed array.
 * Here: the chunking and the passes without gradients (teacher targets, evaluation);
 * student-tokens.ts: the differentiable pass for the loss terms. With the native kernels on
 * (@e3/native, wasm or cpu) each chunk's statistics are one native pass per row; otherwise
 * tensor ops (the reference the native path is tested against).
 */

/**
 * What one chunk's logits [rows, V] (f32) may occupy when no chunk size is given: 160 MiB, so
 * that a chunk has ≥ 256 rows at vocabularies up to 160k. The head's three matmuls per chunk
 * have the chunk's rows as one dimension, and OpenBLAS sgemm at V = 151,936, d = 1,024 ran at
 * 100 GFLOP/s with 36 rows, 180 with 110 and 255 with 256 on this machine (2 threads).
 */
export const HEAD_CHUNK_BYTES = 160 * 2 ** 20;

/** The `headChunkTokens` param of the nodes that run an output head. */
export const HEAD_CHUNK_SCHEMA = {
  type: 'integer',
  minimum: 0,
  default: 0,
  description: 'token rows per chunk of the output head and its softmax (0 = automatic: 160 MiB of logits per chunk)',
};

/** Token rows per chunk: `requested` when > 0, else as many as fit {@link HEAD_CHUNK_BYTES}. */
export function headChunkRows(vocabSize: number, requested = 0): number {
  return requested > 0 ? requested : Math.max(1, Math.floor(HEAD_CHUNK_BYTES / (4 * vocabSize)));
}

/**
 * [start, size] of each chunk of `n` rows, at most `rows` each, as few as that allows and of
 * nearly equal sizes (1,024 rows by 276 are 4 × 256, not 3 × 276 + 196: no small last matmul).
 */
export function chunks(n: number, rows: number): [number, number][] {
  const count = Math.max(1, Math.ceil(n / rows));
  const size = Math.ceil(n / count);
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += size) out.push([s, Math.min(size, n - s)]);
  return out;
}

/** Rows s … s + c − 1 of x. */
export function rowsOf(x: tf.Tensor2D, s: number, c: number): tf.Tensor2D {
  return tf.slice(x, [s, 0], [c, x.shape[1]]);
}

/** Chunk results joined along rows (the parts are disposed when a new tensor is made). */
export function joinRows<T extends tf.Tensor>(parts: T[]): T {
  if (parts.length === 1) return parts[0];
  const out = tf.concat(parts, 0) as T;
  parts.forEach((x) => x.dispose());
  return out;
}

/** Flat indices i·V + cols[i, j] into a [c, V] tensor. */
function flatIndex(cols: tf.Tensor2D, v: number): tf.Tensor2D {
  return tf.add(cols, tf.mul(tf.reshape(tf.range(0, cols.shape[0], 1, 'int32'), [-1, 1]), tf.scalar(v, 'int32')));
}

/** z[i, cols[i, j]] for z [c, V] and int32 cols [c, m]: [c, m]. */
export function pick(z: tf.Tensor2D, cols: tf.Tensor2D): tf.Tensor2D {
  return tf.reshape(tf.gather(tf.reshape(z, [-1]), tf.reshape(flatIndex(cols, z.shape[1]), [-1])), cols.shape);
}

/** The transpose of {@link pick}: [c, V] zeros with `upd` [c, m] added at (i, cols[i, j]) (repeats add up). */
export function unpick(upd: tf.Tensor2D, cols: tf.Tensor2D, v: number): tf.Tensor2D {
  const [c, m] = cols.shape;
  const flat = tf.reshape(flatIndex(cols, v), [c * m, 1]);
  return tf.reshape(tf.scatterND(flat, tf.reshape(upd, [c * m]), [c * v]), [c, v]);
}

/** The labels as [N, 1] column ids (−1, no label, read as id 0: the caller's weights mask it). */
export function labelColumn(labels: tf.Tensor): tf.Tensor2D {
  return tf.reshape(tf.maximum(labels, tf.scalar(0, 'int32')), [-1, 1]);
}

/** The ids a student's statistics pick per token: [N, k + 1], the teacher's top-k (when given), then the label. */
export function idColumns(labels: tf.Tensor2D, topIds?: tf.Tensor3D): tf.Tensor2D {
  if (!topIds) return labelColumn(labels);
  return tf.concat([tf.reshape(topIds, [-1, topIds.shape[2]]) as tf.Tensor2D, labelColumn(labels)], 1);
}

/** Logits [c, V] of rows [c, d] under a head [V, d]. */
export function headLogits(rows: tf.Tensor2D, head: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(rows, head, false, true);
}

/**
 * Per-token values [N] of `fn` over chunks, without gradients: `fn` gets each model's logits of
 * the chunk ([c, V], from `finals[i]` [N, d] and `heads[i]` [V, d]) and the chunk's first row and
 * size. Only one chunk's logits exist at a time.
 */
function logitsPerToken(
  finals: readonly tf.Tensor2D[],
  heads: readonly tf.Tensor2D[],
  fn: (logits: tf.Tensor2D[], start: number, size: number) => tf.Tensor1D,
  chunkTokens = 0,
): tf.Tensor1D {
  const rows = headChunkRows(heads[0].shape[0], chunkTokens);
  return joinRows(
    chunks(finals[0].shape[0], rows).map(([s, c]) =>
      tf.tidy(() => {
        return fn(
          finals.map((f, i) => headLogits(rowsOf(f, s, c), heads[i])),
          s,
          c,
        );
      }),
    ),
  );
}

/** −log q(label) per token [N] of `final` [N, d] under `head`, for int32 `labels` [N] (−1 read as 0). */
export function headNll(final: tf.Tensor2D, head: tf.Tensor2D, labels: tf.Tensor1D, chunkTokens = 0): tf.Tensor1D {
  return logitsPerToken(
    [final],
    [head],
    ([z], s, c) => {
      if (!nativeHeadRows()) return tf.neg(labelLogProb(tf.logSoftmax(z), labels, s, c));
      return tf.neg(tf.reshape(tf.slice(headPick(z, labelColumn(tf.slice(labels, [s], [c]))), [0, 0], [c, 1]), [c]));
    },
    chunkTokens,
  );
}

/** KL(p ‖ q) per token [N] between the models with final rows `pFinal`, `qFinal` and heads `pHead`, `qHead`. */
export function headKlPerToken(
  pFinal: tf.Tensor2D,
  qFinal: tf.Tensor2D,
  pHead: tf.Tensor2D,
  qHead: tf.Tensor2D,
  chunkTokens = 0,
): tf.Tensor1D {
  return logitsPerToken(
    [pFinal, qFinal],
    [pHead, qHead],
    ([zp, zq]) => {
      return nativeHeadRows() ? headKl(zp, zq) : rowKl(tf.logSoftmax(zp), tf.logSoftmax(zq));
    },
    chunkTokens,
  );
}

/** log q(label) per token of a chunk ([size]) from its log-probabilities [size, V] and all labels [N]. */
export function labelLogProb(logq: tf.Tensor2D, labels: tf.Tensor1D, start: number, size: number): tf.Tensor1D {
  return tf.reshape(pick(logq, labelColumn(tf.slice(labels, [start], [size]))), [size]);
}

/** KL(p‖q) per row of log-probabilities [c, V]: [c]. */
export function rowKl(logp: tf.Tensor2D, logq: tf.Tensor2D): tf.Tensor1D {
  return tf.sum(tf.mul(tf.exp(logp), tf.sub(logp, logq)), -1);
}

/** A teacher's targets per token: top-k ids and log-probabilities [N, k], full-vocabulary entropy [N]. */
export type TopKRows = { ids: tf.Tensor2D; logProbs: tf.Tensor2D; entropy: tf.Tensor1D };

/** {@link TopKRows} of the rows of `final` [N, d] under `head` [V, d], chunk by chunk (no gradients). */
export function teacherTopK(final: tf.Tensor2D, head: tf.Tensor2D, k: number, chunkTokens = 0): TopKRows {
  const rows = headChunkRows(head.shape[0], chunkTokens);
  const parts = chunks(final.shape[0], rows).map(([s, c]) =>
    tf.tidy(() => {
      if (nativeHeadRows()) {
        const r = headTopK(headLogits(rowsOf(final, s, c), head), k);
        return [r.ids, r.logProbs, r.entropy];
      }
      const logp = tf.logSoftmax(headLogits(rowsOf(final, s, c), head));
      const { values, indices } = tf.topk(logp, k);
      return [indices, values, tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1))];
    }),
  );
  const [ids, logProbs, entropy] = [0, 1, 2].map((i) => joinRows(parts.map((p) => p[i])));
  return { ids: ids as tf.Tensor2D, logProbs: logProbs as tf.Tensor2D, entropy: entropy as tf.Tensor1D };
}
