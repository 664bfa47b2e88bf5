#!/usr/bin/env node
// Logits of a short prompt from the Qwen3-0.6B-shaped checkpoint on webgpu against the cpu
// backend: the [151936, 1024] embedding (622 MB) is above the device's storage-buffer binding
// limit (128 MiB on lavapipe), so the embedding lookup and the tied head run in row windows
// (core/src/webgpu/large-tensors.ts). Writes bench/results/webgpu-size.md.
// --quick: a 2-layer d = 64 model with the same vocabulary under an 8 MiB limit.
//   node bench/webgpu-size.js [--ckpt DIR] [--tokens 8] [--quick]
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, limitWebgpuBindings, webgpuSplitCounts } from '@e3/core';
import { exportCheckpoint, loadCheckpoint } from '@e3/plugins';
import { bigVocabModel, QWEN_VOCAB } from './lib/big-vocab.js';
import { benchCli, fmt, header, QUICK, ROOT, table, writeResult } from './lib/table.js';

const opts = benchCli(
  'usage: node bench/webgpu-size.js [--ckpt DIR] [--tokens 8] [--quick]\n' +
    '  Qwen3-0.6B-shaped logits on webgpu vs cpu (max difference, wall time); writes bench/results/webgpu-size.md.',
  {
    ckpt: {
      type: 'string',
      description: 'checkpoint directory (E3_SCALE_CKPT, else .e3-cache/scale/qwen3-0.6b, built when absent)',
    },
    tokens: { type: 'string', description: 'prompt length', default: 8 },
  },
);

const V = QWEN_VOCAB;

/** The checkpoint to compare: the given one, or the scale cache's (built by make-checkpoint.js when absent). */
async function checkpoint() {
  if (QUICK) {
    await initBackend('cpu');
    const h = await bigVocabModel(V);
    const dir = await exportCheckpoint(h, join(tmpdir(), `e3-webgpu-size-${process.pid}`), { force: true });
    h.dispose();
    return dir;
  }
  const dir = opts.ckpt ?? process.env.E3_SCALE_CKPT ?? join(ROOT, '.e3-cache', 'scale', 'qwen3-0.6b');
  if (!existsSync(join(dir, 'model.safetensors'))) {
    const { makeCheckpoint } = await import('./scale/make-checkpoint.js');
    makeCheckpoint('qwen3-0.6b', dir, { seed: 0 });
  }
  return dir;
}

const dir = await checkpoint();
const T = Number(opts.tokens ?? 8);
// Spread over the vocabulary, so that every row window of the embedding is read.
const ids = [Array.from({ length: T }, (_, i) => (i === T - 1 ? V - 1 : (i * 19_997 + 11) % V))];

/** Load + logits [1, T, V] on one backend, with seconds for each. */
async function logitsOn(backend) {
  const b = await initBackend(backend);
  const t0 = performance.now();
  const h = await loadCheckpoint(dir);
  const t1 = performance.now();
  const logits = tf.tidy(() => h.model.forward(tf.tensor2d(ids, undefined, 'int32')).logits);
  const data = await logits.data();
  const t2 = performance.now();
  logits.dispose();
  h.dispose();
  return { data, load: (t1 - t0) / 1000, forward: (t2 - t1) / 1000, reason: b.reason };
}

const cpu = await logitsOn('cpu');
if (QUICK) limitWebgpuBindings(8 * 2 ** 20);
const before = webgpuSplitCounts();
const gpu = await logitsOn('webgpu');
const after = webgpuSplitCounts();

let maxAbs = 0,
  maxRel = 0,
  maxLogit = 0,
  argmaxSame = 0;
for (let i = 0; i < cpu.data.length; i++) {
  const d = Math.abs(cpu.data[i] - gpu.data[i]);
  maxAbs = Math.max(maxAbs, d);
  maxRel = Math.max(maxRel, d / Math.max(1, Math.abs(cpu.data[i])));
  maxLogit = Math.max(maxLogit, Math.abs(cpu.data[i]));
}
const argmax = (x, t) => {
  let best = 0;
  for (let v = 1; v < V; v++) if (x[t * V + v] > x[t * V + best]) best = v;
  return best;
};
for (let t = 0; t < T; t++) if (argmax(cpu.data, t) === argmax(gpu.data, t)) argmaxSame++;

const text =
  header('webgpu at size: Qwen3-0.6B-shaped logits, webgpu vs cpu', {
    checkpoint: QUICK ? 'quick: 2 layers, d = 64, vocabulary 151,936, binding limit lowered to 8 MiB' : dir,
    prompt: `${T} tokens (ids ${ids[0].join(', ')})`,
    cpu: cpu.reason,
    webgpu: gpu.reason,
    'row-window calls on webgpu':
      `GatherV2 ${after.GatherV2 - before.GatherV2}, ` + `BatchMatMul ${after.BatchMatMul - before.BatchMatMul}`,
  }) +
  '\n' +
  table(
    ['backend', 'load (s)', 'forward + read (s)'],
    [
      ['cpu', fmt(cpu.load, 1), fmt(cpu.forward, 1)],
      ['webgpu', fmt(gpu.load, 1), fmt(gpu.forward, 1)],
    ],
  ) +
  '\n\n' +
  table(
    ['logits compared', 'max abs difference', 'max relative (÷ max(1, cpu logit))', 'largest logit', 'same argmax'],
    [
      [
        String(cpu.data.length),
        maxAbs.toExponential(2),
        maxRel.toExponential(2),
        fmt(maxLogit, 3),
        `${argmaxSame}/${T}`,
      ],
    ],
  );
writeResult(QUICK ? 'webgpu-size.quick' : 'webgpu-size', text);
if (!(maxRel <= 1e-4)) {
  process.stderr.write(`webgpu logits differ from cpu by ${maxRel} (relative), above 1e-4\n`);
  process.exit(1);
}
