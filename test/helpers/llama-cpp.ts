import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { ModelHandle } from '@e3/plugins';
import { ROOT } from './files.js';

/**
 * node-llama-cpp lives in its own install (runtimes/llama-cpp: only the linux-x64 CPU binary,
 * `npm ci --prefix runtimes/llama-cpp --omit=optional`), not in the workspace: with every
 * platform package it weighs 732 MB. The few parts of its API the tests use:
 */
export interface LlamaCppContextSequence {
  controlledEvaluate(
    input: (number | [number, { generateNext: { probabilities: true; options: Record<string, number> } }])[],
  ): Promise<({ next: { probabilities?: Map<number, number> } } | undefined)[]>;
  evaluate(tokens: number[], options: Record<string, number>): AsyncIterable<number>;
  clearHistory(): Promise<void>;
}
export interface LlamaCppContext {
  getSequence(): LlamaCppContextSequence;
  dispose(): Promise<void>;
}
export interface LlamaCppModel {
  tokenize(text: string, specialTokens?: boolean): number[];
  detokenize(tokens: readonly number[]): string;
  readonly fileInsights: { tensorInfo?: unknown };
  createContext(o: Record<string, unknown>): Promise<LlamaCppContext>;
  dispose(): Promise<void>;
}
export interface LlamaCpp {
  loadModel(o: { modelPath: string; gpuLayers?: number }): Promise<LlamaCppModel>;
}

/** The package's entry point in runtimes/llama-cpp. */
export const NODE_LLAMA_CPP = join(ROOT, 'runtimes', 'llama-cpp', 'node_modules', 'node-llama-cpp', 'dist', 'index.js');

let loaded: Promise<LlamaCpp | string> | undefined;

/**
 * llama.cpp on the CPU through node-llama-cpp's prebuilt binary (never a download nor a
 * build), or why it cannot load here (a string: the reason to skip).
 */
export function llamaCpp(): Promise<LlamaCpp | string> {
  return (loaded ??= (async () => {
    if (!existsSync(NODE_LLAMA_CPP))
      return 'node-llama-cpp is not installed (npm ci --prefix runtimes/llama-cpp --omit=optional)';
    try {
      const m = (await import(pathToFileURL(NODE_LLAMA_CPP).href)) as {
        getLlama(o: Record<string, unknown>): Promise<LlamaCpp>;
      };
      return await m.getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: 'error' });
    } catch (e) {
      return `node-llama-cpp cannot load llama.cpp here: ${(e as Error).message.split('\n')[0]}`;
    }
  })());
}

/**
 * A context that computes in f32 throughout: f32 KV cache (llama.cpp's default is f16) and no
 * flash attention (its CPU kernel rounds q to f16: the arith teacher's log-probabilities move by
 * 2e-2 with it, 7e-6 without). One sequence, one batch, one thread (llama.cpp's threads spin while
 * they wait: on a busy machine more threads are slower).
 */
export async function f32Context(model: LlamaCppModel, size = 64): Promise<LlamaCppContext> {
  return model.createContext({
    contextSize: size,
    batchSize: size,
    sequences: 1,
    threads: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: 'F32',
    experimentalKvCacheValueType: 'F32',
  });
}

/**
 * llama.cpp's next-token distribution after `ids`: softmax of its logits at temperature 1,
 * nothing cut (topK 0 = the whole vocabulary, topP 1, minP 0). Returns probabilities by id.
 */
export async function nextTokenProbabilities(
  seq: LlamaCppContextSequence,
  ids: readonly number[],
): Promise<Float64Array> {
  const options = { temperature: 1, topK: 0, topP: 1, minP: 0 };
  const input = [...ids.slice(0, -1), [ids[ids.length - 1], { generateNext: { probabilities: true, options } }]];
  const res = await seq.controlledEvaluate(input as Parameters<LlamaCppContextSequence['controlledEvaluate']>[0]);
  await seq.clearHistory();
  const probs = res[res.length - 1]!.next.probabilities!;
  let size = 0;
  for (const id of probs.keys()) size = Math.max(size, id + 1); // not Math.max(...keys): 151k arguments overflow the stack
  const out = new Float64Array(size);
  for (const [id, p] of probs) out[id] = p;
  return out;
}

/** llama.cpp's greedy continuation of `ids` (temperature 0): up to `n` tokens, ending before an end token. */
export async function greedy(seq: LlamaCppContextSequence, ids: readonly number[], n: number): Promise<number[]> {
  const out: number[] = [];
  for await (const t of seq.evaluate([...ids], { temperature: 0 })) {
    out.push(t);
    if (out.length === n) break;
  }
  await seq.clearHistory();
  return out;
}

/** e3's logits for the last position of `ids` (with the blocks of `mask` = 0 skipped). */
export function e3Logits(h: ModelHandle, ids: readonly number[], mask?: number[]): Float64Array {
  const logits = tf.tidy(() => {
    const all = h.model.forward(tf.tensor2d([[...ids]], undefined, 'int32'), { mask }).logits;
    return tf.slice(all, [0, ids.length - 1, 0], [1, 1, -1]);
  });
  const out = Float64Array.from(logits.dataSync());
  logits.dispose();
  return out;
}

/**
 * How far llama.cpp's next-token distribution is from e3's logits: the largest difference of
 * log-probabilities (log-softmax takes out the constant that probabilities cannot show) over
 * tokens e3 gives p > 1e-12, relative to the largest |logit|; and the largest probability difference.
 */
export function compareNext(logits: Float64Array, probs: Float64Array) {
  let max = -Infinity;
  let scale = 0;
  for (const v of logits) {
    max = Math.max(max, v);
    scale = Math.max(scale, Math.abs(v));
  }
  let z = 0;
  for (const v of logits) z += Math.exp(v - max);
  let logDiff = 0;
  let probDiff = 0;
  let argE3 = 0;
  let argLlama = 0;
  for (let t = 0; t < logits.length; t++) {
    const logP = logits[t] - max - Math.log(z);
    const p = Math.exp(logP);
    const q = probs[t] ?? 0;
    probDiff = Math.max(probDiff, Math.abs(p - q));
    if (p > 1e-12) logDiff = Math.max(logDiff, Math.abs(Math.log(q) - logP));
    if (logits[t] > logits[argE3]) argE3 = t;
    if (q > (probs[argLlama] ?? 0)) argLlama = t;
  }
  return { relLogit: logDiff / scale, probDiff, argE3, argLlama };
}

/**
 * Loads `file` in llama.cpp and compares the next-token distribution after each prompt with
 * e3's for `h` (with the blocks of `mask` = 0 skipped).
 */
export async function roundTrip(llama: LlamaCpp, file: string, h: ModelHandle, prompts: number[][], mask?: number[]) {
  const model = await llama.loadModel({ modelPath: file });
  const ctx = await f32Context(model, Math.max(64, ...prompts.map((p) => p.length)));
  const seq = ctx.getSequence();
  try {
    const worst = { relLogit: 0, probDiff: 0, sameArgmax: true };
    for (const ids of prompts) {
      const c = compareNext(e3Logits(h, ids, mask), await nextTokenProbabilities(seq, ids));
      worst.relLogit = Math.max(worst.relLogit, c.relLogit);
      worst.probDiff = Math.max(worst.probDiff, c.probDiff);
      worst.sameArgmax &&= c.argE3 === c.argLlama;
    }
    return worst;
  } finally {
    await ctx.dispose();
    await model.dispose();
  }
}
