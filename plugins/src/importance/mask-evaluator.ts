import * as tf from '@tensorflow/tfjs-core';
import { stopPoint } from '@e3/core';
import { encodeBatch, textCodec } from '../data/batch.js';
import type { Example } from '../data/dataset.js';
import type { ModelHandle } from '../model/handle.js';
import { headKlPerToken, headNll } from '../model/chunked-head.js';
import { batchTensors } from '../data/batch-tensors.js';

/** A calibration batch; the teacher's final-norm rows [B·T, d] stand for its logits (the head runs per chunk). */
interface CalibBatch {
  ids: tf.Tensor2D;
  attention: tf.Tensor2D;
  labels: tf.Tensor2D;
  active: tf.Tensor2D;
  teacherFinal: tf.Tensor2D;
  labelled: number;
}

/**
 * Scores masks on calibration data against the unmasked model (the teacher): full-vocabulary
 * KL(p_full ‖ p_masked) and NLL of the labels, averaged over the tokens that carry a label
 * (the answers, for exact-answer data). Counts the forward passes it spends, so methods
 * can be compared by cost as well as quality.
 */
export class MaskEvaluator {
  /** Forward passes over one calibration batch (the unit of cost in the benchmarks). */
  forwardPasses = 0;
  /** Called after each mask is scored (kl or nll), e.g. to tick a progress task. */
  onEvaluated?: () => void;
  /** Aborted when the run stops: scoring throws CancelledError at the next calibration batch. */
  signal?: AbortSignal;
  private readonly batches: CalibBatch[] = [];
  private readonly klMemo = new Map<string, number>();

  /**
   * Runs the unmasked model once over `examples` (calibration data) in batches of `batchSize`;
   * `promptLoss`: score the prompt's tokens too, not only the answer's.
   */
  constructor(
    /** The model scored (the unmasked one is the reference); held, not disposed, by the evaluator. */
    readonly handle: ModelHandle,
    examples: readonly Example[],
    batchSize = 64,
    promptLoss = false,
  ) {
    const codec = textCodec(handle, 'mask evaluation');
    for (let i = 0; i < examples.length; i += batchSize) {
      const b = encodeBatch(examples.slice(i, i + batchSize), codec, promptLoss);
      const t = batchTensors(b);
      const teacherFinal = tf.tidy(() => handle.model.forwardFinal(t.ids, { attentionMask: t.attention }).final);
      this.forwardPasses++;
      this.batches.push({ ...t, teacherFinal, labelled: b.labels.flat().filter((l) => l >= 0).length });
    }
  }

  /** Layers of the model: the length of every mask. */
  get numLayers(): number {
    return this.handle.model.numLayers;
  }

  /** Mean KL(p_full ‖ p_masked) per labelled token (memoised per mask). */
  async kl(mask: readonly number[]): Promise<number> {
    const key = mask.join('');
    const memo = this.klMemo.get(key);
    if (memo !== undefined) return memo;
    const v = await this.reduce(mask, (final, b) => {
      return headKlPerToken(b.teacherFinal, final, this.head, this.head);
    });
    this.klMemo.set(key, v);
    this.onEvaluated?.();
    return v;
  }

  /** Mean negative log-likelihood of the labels per labelled token. */
  async nll(mask: readonly number[]): Promise<number> {
    const v = await this.reduce(mask, (final, b) => {
      const labels = tf.reshape(b.labels, [-1]) as tf.Tensor1D;
      return headNll(final, this.head, labels);
    });
    this.onEvaluated?.();
    return v;
  }

  private get head(): tf.Tensor2D {
    return this.handle.model.headWeight;
  }

  /** Σ over labelled tokens of `perToken` (values [B·T] from the masked model's final-norm rows) / their number. */
  private async reduce(mask: readonly number[], perToken: (final: tf.Tensor2D, b: CalibBatch) => tf.Tensor1D) {
    let total = 0;
    let count = 0;
    for (const b of this.batches) {
      await stopPoint(this.signal);
      const s = tf.tidy(() => {
        const final = this.handle.model.forwardFinal(b.ids, { attentionMask: b.attention, mask }).final;
        return tf.sum(tf.mul(perToken(final, b), tf.reshape(b.active, [-1])));
      });
      this.forwardPasses++;
      total += (await s.data())[0];
      count += b.labelled;
      s.dispose();
    }
    return total / Math.max(count, 1);
  }

  /**
   * Hidden states of the unmasked model: for each batch, L + 1 arrays [B·T, d] (the input of
   * block 0, then every block's output) and which rows are real tokens / last tokens.
   */
  async hiddenStates(): Promise<{ states: Float32Array[][]; d: number; real: boolean[][]; last: number[][] }> {
    const states: Float32Array[][] = [];
    const real: boolean[][] = [];
    const last: number[][] = [];
    const d = this.handle.model.config.hiddenSize;
    for (const b of this.batches) {
      await stopPoint(this.signal);
      const hs = tf.tidy(
        () => this.handle.model.forward(b.ids, { attentionMask: b.attention, outputHidden: true }).hidden!,
      );
      this.forwardPasses++;
      states.push(await Promise.all(hs.map(async (h) => (await h.data()) as Float32Array)));
      hs.forEach((h) => h.dispose());
      const att = (await b.attention.array()) as number[][];
      const t = att[0].length;
      real.push(att.flat().map((v) => v > 0));
      last.push(att.map((row, i) => i * t + row.reduce((a, c) => a + c, 0) - 1));
    }
    return { states, d, real, last };
  }

  /** Frees the calibration batches' tensors (not the model). */
  dispose(): void {
    for (const b of this.batches) [b.ids, b.attention, b.labels, b.active, b.teacherFinal].forEach((t) => t.dispose());
    this.batches.length = 0;
  }
}

/** Cosine similarity of rows r of a and b ([·, d] flattened). */
export function rowCosine(a: Float32Array, b: Float32Array, r: number, d: number): number {
  let dot = 0,
    na = 0,
    nb = 0;
  for (let j = r * d; j < (r + 1) * d; j++) {
    dot += a[j] * b[j];
    na += a[j] * a[j];
    nb += b[j] * b[j];
  }
  return dot / Math.max(Math.sqrt(na * nb), 1e-12);
}
