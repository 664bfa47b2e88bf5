import * as tf from '@tensorflow/tfjs-core';
import { stopPoint } from '@e3/core';
import { encodeBatch, textCodec } from '../data/batch.js';
import type { Example } from '../data/dataset.js';
import type { LayerMask } from '../model/decoder.js';
import { generateText } from '../model/generate.js';
import type { ModelHandle } from '../model/handle.js';
import { headKlPerToken, headNll } from '../model/chunked-head.js';
import { batchTensors } from '../data/batch-tensors.js';

/**
 * Answer extraction for exact match: take the greedy completion up to the first end token
 * (generation stops there) or newline, trim surrounding whitespace; it must then equal the
 * reference answer string exactly ("-7" matches "-7"; "07", "-7.0" or "7" do not).
 */
export function extractAnswer(completion: string): string {
  return completion.split('\n')[0].trim();
}

/**
 * Exact-match accuracy by greedy decoding over the examples that have a prompt (plain-text
 * examples have nothing to answer and are skipped; with none left the accuracy is undefined),
 * and the completions, for reports.
 */
export async function exactMatch(
  h: ModelHandle,
  examples: readonly Example[],
  o: {
    maxNewTokens: number;
    mask?: LayerMask;
    progress?: (done: number, total: number) => void;
    /** Aborted when the run stops: generation throws CancelledError at the next token. */
    signal?: AbortSignal;
  },
): Promise<{ accuracy?: number; answered: number; completions: string[] }> {
  const { maxNewTokens, mask, progress, signal } = o;
  const asked = examples.filter((e) => e.prompt.length > 0);
  const completions: string[] = [];
  const bs = 128;
  for (let i = 0; i < asked.length; i += bs) {
    progress?.(i, asked.length);
    const prompts = asked.slice(i, i + bs).map((e) => e.prompt);
    const o = { maxNewTokens, mask: mask as number[] | undefined, batchSize: bs, signal };
    completions.push(...(await generateText(h, prompts, o)));
  }
  if (asked.length) progress?.(asked.length, asked.length);
  const correct = completions.filter((c, i) => extractAnswer(c) === asked[i].answer).length;
  // Without a single prompt there is nothing to score: no accuracy rather than a misleading 0%.
  return { accuracy: asked.length ? correct / asked.length : undefined, answered: asked.length, completions };
}

/**
 * Perplexity of the labels and KL(teacher ‖ model) over the full vocabulary, both per
 * labelled token (the answers and end tokens) of held-out examples.
 */
export async function heldoutLikelihood(
  h: ModelHandle,
  examples: readonly Example[],
  teacher?: ModelHandle,
  opts: {
    mask?: number[];
    batchSize?: number;
    promptLoss?: boolean;
    progress?: (done: number, total: number) => void;
    /** Aborted when the run stops: throws CancelledError at the next batch. */
    signal?: AbortSignal;
  } = {},
): Promise<{ perplexity: number; kl?: number; tokens: number }> {
  const codec = textCodec(h, 'evaluation');
  const bs = opts.batchSize ?? 128;
  let nll = 0,
    kl = 0,
    n = 0;
  for (let i = 0; i < examples.length; i += bs) {
    opts.progress?.(i, examples.length);
    await stopPoint(opts.signal);
    const b = encodeBatch(examples.slice(i, i + bs), codec, opts.promptLoss ?? false);
    const t = batchTensors(b);
    const [s1, s2, c] = tf.tidy(() => {
      // The output heads run chunk by chunk (chunked-head.ts): no [B, T, V] tensor.
      const active = tf.reshape(t.active, [-1]);
      const labels = tf.reshape(t.labels, [-1]) as tf.Tensor1D;
      const final = h.model.forwardFinal(t.ids, { attentionMask: t.attention, mask: opts.mask }).final;
      const nll = headNll(final, h.model.headWeight, labels);
      const tokNll = tf.sum(tf.mul(nll, active));
      let tokKl: tf.Tensor = tf.scalar(0);
      if (teacher) {
        const tFinal = teacher.model.forwardFinal(t.ids, { attentionMask: t.attention }).final;
        const kl = headKlPerToken(tFinal, final, teacher.model.headWeight, h.model.headWeight);
        tokKl = tf.sum(tf.mul(kl, active));
      }
      return [tokNll, tokKl, tf.sum(t.active)];
    });
    nll += (await s1.data())[0];
    kl += (await s2.data())[0];
    n += (await c.data())[0];
    [s1, s2, c, ...Object.values(t)].forEach((x) => x.dispose());
  }
  if (examples.length) opts.progress?.(examples.length, examples.length);
  return { perplexity: Math.exp(nll / Math.max(n, 1)), kl: teacher ? kl / Math.max(n, 1) : undefined, tokens: n };
}

/**
 * Token ids to time decoding from, one per example: the prompt, or for a plain-text example
 * (no prompt) the first `prefix` tokens of its text, or of a packed row's input ids (which have
 * no text). Examples with no tokens at all are left out.
 */
export function speedPrompts(examples: readonly Example[], encode: (s: string) => number[], prefix = 16): number[][] {
  const ids = (e: Example) =>
    e.tokens
      ? e.tokens.ids.slice(0, -1).slice(0, prefix)
      : e.prompt
        ? encode(e.prompt)
        : encode(e.answer).slice(0, prefix);
  return examples.map(ids).filter((x) => x.length > 0);
}
