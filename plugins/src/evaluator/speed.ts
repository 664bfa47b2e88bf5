import * as tf from '@tensorflow/tfjs-core';
import { stopPoint } from '@e3/core';
import { generateIds } from '../model/generate.js';
import { cloneHandle, type ModelHandle } from '../model/handle.js';
import { hasBf16Weights } from '../model/bf16-weights.js';

export interface SpeedResult {
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * Seconds per call of fn, calling it until at least `minSeconds` have passed: a small model's
 * batch-1 prefill takes well under a millisecond, where one call's timing is mostly noise.
 */
async function secondsPerCall(fn: () => Promise<void>, minSeconds = 0.05): Promise<number> {
  const t0 = performance.now();
  let calls = 0;
  do {
    await fn();
    calls++;
  } while (performance.now() - t0 < minSeconds * 1000);
  return (performance.now() - t0) / 1000 / calls;
}

async function prefillSeconds(h: ModelHandle, ids: number[][]): Promise<number> {
  return secondsPerCall(async () => {
    const out = tf.tidy(() => h.model.forward(tf.tensor2d(ids, undefined, 'int32')).logits);
    await out.data();
    out.dispose();
  });
}

async function decodeSeconds(h: ModelHandle, prompts: number[][], newTokens: number): Promise<number> {
  return secondsPerCall(async () => {
    await generateIds(h, prompts, { maxNewTokens: newTokens, stopIds: [-1] });
  });
}

/**
 * Prefill and decode throughput of several models measured side by side in one process:
 * the same prompts, one warm-up each, then `repeats` rounds (each at least 50 ms of calls)
 * that alternate the models (so drift on the machine hits them alike); the median of each is
 * reported. `signal` is checked between timed calls (never inside one, not to time it).
 */
export async function measureSpeed(
  models: readonly ModelHandle[],
  prompts: number[][],
  newTokens: number,
  repeats: number,
  signal?: AbortSignal,
): Promise<SpeedResult[]> {
  // A model with frozen bf16 weights is timed as its f32 copy: its conversions would flatter a speed-up.
  const copies = models.map((m) => (hasBf16Weights(m.model.weights.layers) ? cloneHandle(m) : undefined));
  try {
    return await timeModels(
      models.map((m, i) => copies[i] ?? m),
      prompts,
      newTokens,
      repeats,
      signal,
    );
  } finally {
    copies.forEach((c) => c?.dispose());
  }
}

async function timeModels(
  models: readonly ModelHandle[],
  prompts: number[][],
  newTokens: number,
  repeats: number,
  signal: AbortSignal | undefined,
): Promise<SpeedResult[]> {
  const prefill: number[][] = models.map(() => []);
  const decode: number[][] = models.map(() => []);
  const width = Math.max(...prompts.map((p) => p.length));
  const rect = prompts.map((p) => [...p, ...Array(width - p.length).fill(p[p.length - 1])]);
  for (const m of models) {
    await stopPoint(signal);
    await prefillSeconds(m, rect);
    await decodeSeconds(m, prompts, 2);
  }
  for (let r = 0; r < repeats; r++) {
    for (let i = 0; i < models.length; i++) {
      await stopPoint(signal);
      prefill[i].push(await prefillSeconds(models[i], rect));
      decode[i].push(await decodeSeconds(models[i], prompts, newTokens));
    }
  }
  return models.map((_, i) => ({
    prefillTokensPerSecond: (rect.length * width) / median(prefill[i]),
    decodeTokensPerSecond: (prompts.length * newTokens) / median(decode[i]),
  }));
}
