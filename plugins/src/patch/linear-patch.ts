import * as tf from '@tensorflow/tfjs-core';
import { stopPoint, UserError } from '@e3/core';
import { identity, MomentSums, ridgeTowardIdentity } from '../maths/ridge.js';
import { cloneHandle, type ModelHandle } from '../model/handle.js';
import { keptLayers } from '../model/prune-node.js';

/** Token ids and attention of one calibration batch. */
export interface CalibrationBatch {
  readonly ids: tf.Tensor2D;
  readonly attention: tf.Tensor2D;
}

/** What to do with a span that starts at layer 0 (no block precedes it). */
export type LeadingSpan = 'auto' | 'embedding' | 'skip';

export interface LinearPatchOptions {
  /** Ridge strength λ, relative to the mean squared activation (maths/ridge.ts). */
  readonly lambda: number;
  readonly leadingSpan: LeadingSpan;
  /** Who asks, for errors (`node "patch"`). */
  readonly who: string;
  readonly signal?: AbortSignal;
}

/** One span's fit, for the log and reports. */
export interface SpanFit {
  /** Removed layers (indices of the input model). */
  readonly removed: number[];
  /** The tensor the map was folded into (HF name in the patched model), or 'none' (skipped). */
  readonly foldedInto: string;
  /** Calibration tokens the map was fitted on. */
  readonly tokens: number;
  /** Mean squared error of the residual stream after the span: plain removal (T = I), then patched. */
  readonly mseRemoved: number;
  readonly msePatched: number;
}

/** Runs of consecutive removed layers: [first, last] per span, in order. */
export function removedSpans(mask: readonly number[]): [number, number][] {
  const spans: [number, number][] = [];
  mask.forEach((m, i) => {
    if (m) return;
    const last = spans.at(-1);
    if (last && last[1] === i - 1) last[1] = i;
    else spans.push([i, i]);
  });
  return spans;
}

/** A numeric gate that runs blocks 0..upTo and skips the rest (their outputs are not needed). */
const runUpTo = (layers: number, upTo: number) => Array.from({ length: layers }, (_, i) => (i <= upTo ? 1 : 0));

/** The residual stream after block `block` ([B·T, d] rows; block −1: the embedding output). */
async function streamAfter(h: ModelHandle, b: CalibrationBatch, block: number): Promise<Float32Array> {
  const t = tf.tidy(() => {
    const L = h.model.numLayers;
    const r = h.model.forwardFinal(b.ids, { attentionMask: b.attention, outputHidden: true, mask: runUpTo(L, block) });
    return tf.reshape(r.hidden![block + 1], [-1]);
  });
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return data;
}

/**
 * The residual stream after block `block` with its MLP silenced: Y, the attention half's output
 * (the MLP output M is then the block's output minus Y). Zeroes down_proj (and its bias) for one
 * forward pass and puts them back.
 */
async function attentionHalf(h: ModelHandle, b: CalibrationBatch, block: number): Promise<Float32Array> {
  const w = h.model.weights.layers[block];
  const saved = [w.down, w.downBias].map((v) => v && tf.clone(v));
  try {
    w.down.assign(tf.zerosLike(w.down));
    w.downBias?.assign(tf.zerosLike(w.downBias));
    return await streamAfter(h, b, block);
  } finally {
    w.down.assign(saved[0]!);
    if (w.downBias) w.downBias.assign(saved[1]!);
    saved.forEach((v) => v?.dispose());
  }
}

/** Which rows of a batch are real tokens. */
async function realRows(b: CalibrationBatch): Promise<boolean[]> {
  return Array.from(await b.attention.data(), (v) => v > 0);
}

/**
 * The linear patch (ReplaceMe, Shopkhoev et al. 2025, arXiv 2505.02819). `teacher` is the model the
 * mask refers to; returns a copy with the masked blocks removed where each span of consecutive
 * removed blocks [i+1..i+n] is replaced by a d × d map T folded into block i's MLP down
 * projection, so the checkpoint keeps its architecture and tensor names.
 *
 * With M the MLP output of block i (before its residual add), Y block i's attention half (so block
 * i outputs Y + M) and L the teacher's residual stream after block i+n, T minimises
 * (1/N)|M T + Y − L|² + λ (tr MᵀM/(N d)) |T − I|² over calibration tokens (maths/ridge.ts), and
 * then block i outputs Y + M T: down_proj W [d, F] (HF's [out, in] layout, y = z Wᵀ) becomes Tᵀ W
 * and its bias b becomes b T.
 *
 * Spans are fitted in order on the copy as patched so far, each against the teacher's own stream,
 * so a later span also corrects what earlier spans left. A span starting at layer 0 has no block
 * before it: `leadingSpan: 'embedding'` fits X T ≈ L on the embedding output X and folds T into
 * the input embedding (refused when the embedding is tied to the output head, as T would change
 * the output head too, and untying would add a tensor); `'skip'` leaves that span unpatched;
 * `'auto'` folds into an untied embedding and skips otherwise (the fit record says which).
 */
export async function linearPatch(
  teacher: ModelHandle,
  mask: readonly number[],
  batches: readonly CalibrationBatch[],
  o: LinearPatchOptions,
): Promise<{ model: ModelHandle; fits: SpanFit[] }> {
  const kept = keptLayers(mask, teacher.model.numLayers, o.who);
  const student = cloneHandle(teacher, kept);
  const fits: SpanFit[] = [];
  try {
    for (const [first, last] of removedSpans(mask)) {
      const removed = Array.from({ length: last - first + 1 }, (_, k) => first + k);
      const tied = student.model.config.tieWordEmbeddings;
      if (first === 0 && (o.leadingSpan === 'skip' || (o.leadingSpan === 'auto' && tied))) {
        fits.push({ removed, foldedInto: 'none', tokens: 0, mseRemoved: NaN, msePatched: NaN });
        continue;
      }
      if (first === 0 && tied)
        throw new UserError(
          `${o.who}: the mask removes layers ${removed.join(',')} from the start, so the linear map would fold ` +
            'into the input embedding, which this model ties to its output head ' +
            '(fix: params.leadingSpan: skip leaves that span unpatched, or keep layer 0)',
        );
      const into = first === 0 ? -1 : kept.indexOf(first - 1);
      fits.push(await fitSpan({ teacher, student, batches }, { into, last, removed }, o));
    }
  } catch (e) {
    student.dispose();
    throw e;
  }
  return { model: student, fits };
}

/** The models and calibration batches a span is fitted on. */
interface FitInputs {
  readonly teacher: ModelHandle;
  readonly student: ModelHandle;
  readonly batches: readonly CalibrationBatch[];
}

/**
 * A span of removed blocks: fitted from the student's block `into` (−1: the embedding) to the
 * teacher's hidden state after block `last`; `removed` names the span's layers.
 */
interface Span {
  readonly into: number;
  readonly last: number;
  readonly removed: number[];
}

/** Fits and folds one span's map into block `into` of the student (−1: the embedding). */
async function fitSpan(inputs: FitInputs, span: Span, o: LinearPatchOptions): Promise<SpanFit> {
  const { teacher, student, batches } = inputs;
  const { into, last, removed } = span;
  const d = student.model.config.hiddenSize;
  const sums = new MomentSums(d);
  for (const b of batches) {
    await stopPoint(o.signal);
    const target = await streamAfter(teacher, b, last);
    const out = await streamAfter(student, b, into);
    // M = out − Y and R = L − Y; for the embedding, Y = 0 and M = the embedding output.
    const y = into < 0 ? new Float32Array(out.length) : await attentionHalf(student, b, into);
    const m = out.map((v, k) => v - y[k]);
    const r = target.map((v, k) => v - y[k]);
    sums.add(m, r, await realRows(b));
  }
  const T = ridgeTowardIdentity(sums, o.lambda);
  if (!T)
    throw new UserError(
      `${o.who}: the least-squares system for layers ${removed.join(',')} is singular ` +
        `(${sums.rows} calibration tokens, d = ${d}) (fix: params.lambda > 0, or more calibration examples)`,
    );
  const mseRemoved = sums.meanSquaredError(identity(d));
  const msePatched = sums.meanSquaredError(T);
  foldMap(student, into, T);
  const foldedInto = into < 0 ? 'model.embed_tokens.weight' : `model.layers.${into}.mlp.down_proj.weight`;
  return { removed, foldedInto, tokens: sums.rows, mseRemoved, msePatched };
}

/** Folds row-vector map T (x ↦ x T) into block `into`'s down projection, or the embedding (−1). */
export function foldMap(h: ModelHandle, into: number, T: Float64Array): void {
  const d = h.model.config.hiddenSize;
  tf.tidy(() => {
    const t = tf.tensor2d(Float32Array.from(T), [d, d]);
    if (into < 0) {
      const e = h.model.weights.embed;
      e.assign(tf.matMul(e, t));
      return;
    }
    const w = h.model.weights.layers[into];
    w.down.assign(tf.matMul(t, w.down, true, false));
    if (w.downBias) w.downBias.assign(tf.reshape(tf.matMul(tf.reshape(w.downBias, [1, d]), t), [d]));
  });
}
