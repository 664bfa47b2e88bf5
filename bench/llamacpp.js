#!/usr/bin/env node
// Speed where users deploy: prefill and decode tokens/s of the original and the pruned Qwen3-0.6B
// shape (25% and 50% of its blocks removed) in llama.cpp, through node-llama-cpp (its prebuilt CPU
// binary, runtimes/llama-cpp), from GGUF files written by e3's exporter, beside e3's own decoder
// speed-up on the same models in the same run.
//   node bench/llamacpp.js [--quick] [--model DIR] [--types BF16,Q8_0] [--threads N]
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initBackend, Rng } from '@e3/core';
import { cloneHandle, exportGguf, loadCheckpoint, measureSpeed } from '@e3/plugins';
import { TEACHER } from './lib/pipeline.js';
import { arg, benchCli, fmt, header, median, QUICK, ROOT, table, writeResult } from './lib/table.js';
benchCli(
  'usage: node bench/llamacpp.js [--quick] [--model DIR] [--types BF16,Q8_0] [--threads N]\n' +
    '  Speed of pruned GGUF exports in llama.cpp (node-llama-cpp) vs e3; writes bench/results/llamacpp.md.',
  {
    model: {
      type: 'string',
      description: 'checkpoint (default: E3_SCALE_CKPT or .e3-cache/scale/qwen3-0.6b; --quick: models/arith-teacher)',
    },
    types: {
      type: 'string',
      description: 'GGUF storage types, comma-separated (F32, F16, BF16, Q8_0)',
      default: 'BF16,Q8_0',
    },
    threads: { type: 'string', description: "llama.cpp's threads", default: String(cpus().length) },
    'prompt-tokens': { type: 'string', description: 'prompt length (prefill)', default: '128' },
    'new-tokens': { type: 'string', description: 'tokens decoded after the prompt', default: '64' },
    repeats: { type: 'string', description: 'timed repeats per measurement (median)', default: '5' },
  },
);

const NODE_LLAMA_CPP = join(ROOT, 'runtimes', 'llama-cpp', 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
if (!existsSync(NODE_LLAMA_CPP)) {
  process.stderr.write('node-llama-cpp is not installed: npm ci --prefix runtimes/llama-cpp --omit=optional\n');
  process.exit(1);
}
const { getLlama } = await import(pathToFileURL(NODE_LLAMA_CPP).href);
const llama = await getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: 'error' });

const MODEL =
  arg('model') ?? (QUICK ? TEACHER : (process.env.E3_SCALE_CKPT ?? join(ROOT, '.e3-cache/scale/qwen3-0.6b')));
if (!existsSync(join(MODEL, 'config.json'))) {
  process.stderr.write(`${MODEL}: no checkpoint; build it with: node bench/scale.js --shapes qwen3-0.6b --no-steps\n`);
  process.exit(1);
}
const TYPES = (QUICK ? 'F32,Q8_0' : arg('types', 'BF16,Q8_0')).split(',');
// --quick (the slow suite's smoke run, on a busy machine): one thread, since llama.cpp's threads spin while they wait.
const THREADS = Number(arg('threads', QUICK ? '1' : String(cpus().length)));
const PROMPT = QUICK ? 16 : Number(arg('prompt-tokens', '128'));
const NEW = QUICK ? 8 : Number(arg('new-tokens', '64'));
const REPEATS = QUICK ? 1 : Number(arg('repeats', '5'));
const RATIOS = [0, 0.25, 0.5];

const backend = await initBackend('auto');
const original = await loadCheckpoint(MODEL);
const L = original.model.numLayers;
const V = original.model.config.vocabSize;
// Seeded prompt ids below the special tokens (Qwen3's start at 151643).
const rng = new Rng(11);
const prompt = Array.from({ length: PROMPT }, () => 3 + rng.int(Math.min(V, 151_643) - 3));

/** Evenly spread blocks to remove (speed does not depend on which ones). */
const dropped = (ratio) => {
  const n = Math.round(ratio * L);
  return Array.from({ length: n }, (_, i) => Math.floor(((i + 0.5) * L) / n));
};
const models = RATIOS.map((ratio) => {
  const drop = new Set(dropped(ratio));
  return {
    ratio,
    h: ratio
      ? cloneHandle(
          original,
          [...Array(L).keys()].filter((l) => !drop.has(l)),
        )
      : original,
  };
});

/** Median seconds of `f` over the repeats, after one warm-up. */
async function timed(f) {
  await f();
  const s = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    await f();
    s.push((performance.now() - t0) / 1000);
  }
  return median(s);
}

let fewestDecoded = NEW;

/** llama.cpp's prefill and decode tokens/s of one GGUF file (default context settings: f16 KV cache). */
async function llamaSpeed(file) {
  const model = await llama.loadModel({ modelPath: file });
  const ctx = await model.createContext({
    contextSize: PROMPT + NEW + 16,
    batchSize: PROMPT,
    sequences: 1,
    threads: THREADS,
  });
  const seq = ctx.getSequence();
  let decoded = 0;
  const prefill = await timed(async () => {
    await seq.clearHistory();
    await seq.evaluateWithoutGeneratingNewTokens(prompt);
  });
  const decode = await timed(async () => {
    await seq.clearHistory();
    await seq.evaluateWithoutGeneratingNewTokens(prompt.slice(0, -1));
    const out = [];
    for await (const token of seq.evaluate(prompt.slice(-1), { temperature: 0, yieldEogToken: true })) {
      out.push(token);
      if (out.length === NEW) break;
    }
    decoded = out.length;
  });
  await ctx.dispose();
  await model.dispose();
  fewestDecoded = Math.min(fewestDecoded, decoded);
  return { prefill: PROMPT / prefill, decode: decoded / decode };
}

const dir = mkdtempSync(join(tmpdir(), 'e3-llamacpp-'));
const rows = [];
for (const type of TYPES) {
  let base;
  for (const { ratio, h } of models) {
    process.stderr.write(`[bench] ${type}, ${ratio * 100}% removed: exporting and timing in llama.cpp …\n`);
    const file = await exportGguf(h, join(dir, `${type}-${ratio}`), { dtype: type });
    const s = await llamaSpeed(file);
    base ??= s;
    const K = h.model.numLayers;
    rows.push([
      type,
      `${L} → ${K}${ratio ? ` (${ratio * 100}% removed)` : ''}`,
      `${(statSync(file).size / 2 ** 20).toFixed(1)} MiB`,
      fmt(s.prefill, 0),
      fmt(s.prefill / base.prefill, 2) + '×',
      fmt(s.decode, 1),
      fmt(s.decode / base.decode, 2) + '×',
      fmt(L / K, 2) + '×',
    ]);
    rmSync(file);
  }
}
process.stderr.write(`[bench] e3's decoder (${backend.name}) on the same models …\n`);
const ours = await measureSpeed(
  models.map((m) => m.h),
  [prompt],
  NEW,
  REPEATS,
);
const e3Rows = models.map(({ ratio, h }, i) => [
  `${L} → ${h.model.numLayers}${ratio ? ` (${ratio * 100}% removed)` : ''}`,
  fmt(ours[i].prefillTokensPerSecond, 0),
  fmt(ours[i].prefillTokensPerSecond / ours[0].prefillTokensPerSecond, 2) + '×',
  fmt(ours[i].decodeTokensPerSecond, 1),
  fmt(ours[i].decodeTokensPerSecond / ours[0].decodeTokensPerSecond, 2) + '×',
  fmt(L / h.model.numLayers, 2) + '×',
]);
rmSync(dir, { recursive: true, force: true });
const name = MODEL.replace(ROOT + '/', '').replace(/.*\.e3-cache\/scale\//, 'bench/scale: ');
writeResult(
  QUICK ? 'llamacpp.quick' : 'llamacpp',
  header('Speed in llama.cpp of pruned GGUF exports', {
    model: name,
    'llama.cpp': `node-llama-cpp's prebuilt CPU binary, ${THREADS} threads, its default context (f16 KV cache)`,
    "e3's decoder": `TensorFlow.js ${backend.name} (f32), the same models`,
    workload:
      `batch 1: a ${PROMPT}-token prompt (seeded random ids), then ${NEW} greedy tokens; median of ${REPEATS}` +
      (fewestDecoded < NEW ? ` (llama.cpp: at least ${fewestDecoded} decoded where an end token came first)` : ''),
  }) +
    '\nThe original and the pruned models (blocks removed evenly) exported by `exporter.gguf` and timed one after another ' +
    'in one process. Ratios are against the original of the same storage type; ideal L/K is the ratio if the removed ' +
    'blocks were all the time (the embedding, output head and attention over the prompt are not).\n\n## llama.cpp\n\n' +
    table(
      ['type', 'layers', 'file', 'prefill tok/s', 'prefill ratio', 'decode tok/s', 'decode ratio', 'ideal L/K'],
      rows,
    ) +
    "\n\n## e3's own decoder (same run, same models)\n\n" +
    table(['layers', 'prefill tok/s', 'prefill ratio', 'decode tok/s', 'decode ratio', 'ideal L/K'], e3Rows) +
    '\n',
);
for (const m of models) m.h.dispose();
