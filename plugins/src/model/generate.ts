import * as tf from '@tensorflow/tfjs-core';
import { stopPoint, UserError, type Rng } from '@e3/core';
import type { LayerCache, LayerMask } from './decoder.js';
import type { ModelHandle } from './handle.js';

export interface GenerateOptions {
  maxNewTokens: number;
  /** Layer gate (numbers; 0 skips a block). */
  mask?: LayerMask;
  /** Sampling instead of greedy: softmax(logits / temperature), optionally over the top-k only. */
  sample?: { temperature: number; topK?: number; rng: Rng };
  /** Stop tokens (default: the model's eos). */
  stopIds?: readonly number[];
  /** Aborted when the run stops: generation throws CancelledError at the next token. */
  signal?: AbortSignal;
}

/**
 * Batched generation with a KV cache. Prompts are left-padded (positions count real
 * tokens only, so padding does not shift rotary phases); each row stops at its first stop
 * token, which is not returned. Returns the new token ids per prompt.
 */
export async function generateIds(
  h: ModelHandle,
  prompts: readonly (readonly number[])[],
  o: GenerateOptions,
): Promise<number[][]> {
  const b = prompts.length;
  if (b === 0) return [];
  const width = Math.max(...prompts.map((p) => p.length));
  const ids = prompts.map((p) => [...Array(width - p.length).fill(h.padId), ...p]);
  let attention = prompts.map((p) => [...Array(width - p.length).fill(0), ...Array(p.length).fill(1)]);
  const stop = new Set(o.stopIds ?? [h.eosId]);
  const out: number[][] = prompts.map(() => []);
  const done = prompts.map(() => false);
  let cache: (LayerCache | undefined)[] | undefined;
  let input = ids;
  try {
    for (let step = 0; step < o.maxNewTokens; step++) {
      await stopPoint(o.signal);
      const r = tf.tidy(() => {
        const attentionMask = tf.tensor2d(attention, undefined, 'float32');
        const ids = tf.tensor2d(input, undefined, 'int32');
        const res = h.model.forwardFinal(ids, { mask: o.mask, attentionMask, cache, useCache: true });
        // Only the last position's logits are needed: the head runs on B rows, not B·T.
        const t = input[0].length;
        const rows = tf.reshape(tf.slice(tf.reshape(res.final, [b, t, -1]), [0, t - 1, 0], [b, 1, -1]), [
          b,
          -1,
        ]) as tf.Tensor2D;
        const last = h.model.head(rows);
        return { last, cache: res.cache! };
      });
      disposeCache(cache);
      cache = r.cache;
      const next = await pickTokens(r.last, o.sample);
      r.last.dispose();
      for (let i = 0; i < b; i++) {
        if (done[i]) continue;
        if (stop.has(next[i])) done[i] = true;
        else out[i].push(next[i]);
      }
      if (done.every(Boolean)) break;
      input = next.map((t) => [t]);
      attention = attention.map((row) => [...row, 1]);
    }
  } finally {
    disposeCache(cache);
  }
  return out;
}

function disposeCache(cache?: (LayerCache | undefined)[]): void {
  for (const c of cache ?? []) {
    c?.k.dispose();
    c?.v.dispose();
  }
}

async function pickTokens(logits: tf.Tensor2D, sample?: GenerateOptions['sample']): Promise<number[]> {
  if (!sample) {
    const best = tf.argMax(logits, -1);
    try {
      return Array.from(await best.data());
    } finally {
      best.dispose();
    }
  }
  const [b, v] = logits.shape;
  const values = (await logits.data()) as Float32Array;
  const out: number[] = [];
  for (let i = 0; i < b; i++) {
    const row = Array.from(values.subarray(i * v, (i + 1) * v), (x) => x / sample.temperature);
    const order = [...row.keys()].sort((x, y) => row[y] - row[x]).slice(0, sample.topK ?? v);
    const max = row[order[0]];
    const w = order.map((j) => Math.exp(row[j] - max));
    let u = sample.rng.next() * w.reduce((a, c) => a + c, 0);
    let pick = order[order.length - 1];
    for (let k = 0; k < order.length; k++) {
      u -= w[k];
      if (u <= 0) {
        pick = order[k];
        break;
      }
    }
    out.push(pick);
  }
  return out;
}

/**
 * Text in, text out, in order, batched `batchSize` prompts at a time. A prompt that encodes to
 * no tokens has nothing to continue (these models have no start token) and gets "".
 */
export async function generateText(
  h: ModelHandle,
  prompts: readonly string[],
  o: GenerateOptions & { batchSize?: number },
): Promise<string[]> {
  const tok = h.tokenizer!;
  const encoded = prompts.map((p) => tok.encode(p));
  const todo = encoded.flatMap((ids, i) => (ids.length ? [i] : []));
  const out: string[] = prompts.map(() => '');
  const bs = o.batchSize ?? 64;
  if (!Number.isInteger(bs) || bs < 1) throw new UserError(`generation batch size must be an integer ≥ 1, got ${bs}`);
  for (let i = 0; i < todo.length; i += bs) {
    const chunk = todo.slice(i, i + bs);
    const results = await generateIds(
      h,
      chunk.map((j) => encoded[j]),
      o,
    );
    chunk.forEach((j, r) => {
      out[j] = tok.decode(results[r]);
    });
  }
  return out;
}
