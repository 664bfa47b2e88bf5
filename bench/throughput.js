#!/usr/bin/env node
// Table 5 — training throughput: tokens/s of one mask-search step and one distillation step
// (and greedy decoding) on each available TensorFlow.js backend, against the same model and
// batch in PyTorch on the same machine (bench/reference/torch_steps.py), measured in one run,
// with a kernel profile of the distillation step.
//   node bench/throughput.js [--quick]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '@e3/core';
import { AdamW, arithmeticDataset, batchTensors, cloneHandle, encodeBatch, ForwardKlLoss, generateIds, GumbelTopKSampler, loadCheckpoint } from '@e3/plugins';
import { TEACHER } from './lib/pipeline.js';
import { BENCH, fmt, header, median, QUICK, table, writeResult } from './lib/table.js';

const repeats = QUICK ? 2 : 7;
const batchSize = 64;
const data = arithmeticDataset({ ops: ['+', '-'], maxOperand: 99, heldoutFraction: 0.1, splitSeed: 1234 }, new Rng(0));
const examples = await data.calibration(batchSize);
const prompts6 = (await data.heldout(2000)).filter((e) => e.prompt.length === 6).slice(0, 32);

async function timed(fn) {
  await fn();
  const ts = [];
  for (let i = 0; i < repeats; i++) { const t0 = performance.now(); await fn(); ts.push((performance.now() - t0) / 1000); }
  return median(ts);
}

async function measure(backendName) {
  await initBackend(backendName);
  const h = await loadCheckpoint(TEACHER);
  const batch = encodeBatch(examples, h.tokenizer, h.eosId, h.padId);
  const bt = batchTensors(batch);
  const V = h.model.config.vocabSize;
  const targets = tf.tidy(() => {
    const logp = tf.logSoftmax(h.model.forward(bt.ids, { attentionMask: bt.attention }).logits);
    const { values, indices } = tf.topk(logp, 10);
    return { ids: indices, logProbs: values, entropy: tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1)) };
  });
  Object.values(targets).forEach((t) => tf.keep(t));
  const fkl = new ForwardKlLoss({ weight: 1 });
  const loss = (model, mask) => fkl.compute({ logits: model.forward(bt.ids, { attentionMask: bt.attention, mask }).logits, labels: bt.labels, active: bt.active, tokenWeights: bt.active, targets, vocabSize: V });
  const L = h.model.numLayers;
  const alpha = tf.variable(tf.zeros([L]));
  const sampler = new GumbelTopKSampler({ noise: { from: 1, to: 0.1 } });
  const rng = new Rng(0);
  const optA = new AdamW([alpha], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  let alphaValues = new Array(L).fill(0);
  const searchStep = async () => {
    alphaValues = Array.from(await alpha.data());
    const { value, grads } = tf.variableGrads(() => loss(h.model, sampler.sample(alpha, alphaValues, { k: L / 2, tau: 0.5, progress: 0.5 }, rng).mask), [alpha]);
    optA.apply([grads[alpha.name]], 0.1);
    await value.data(); value.dispose(); Object.values(grads).forEach((g) => g.dispose());
  };
  const student = cloneHandle(h);
  const vars = student.model.variables();
  const optW = new AdamW(vars, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  const distillStep = async () => {
    const { value, grads } = tf.variableGrads(() => loss(student.model), vars);
    optW.apply(vars.map((v) => grads[v.name]), 1e-4);
    await value.data(); value.dispose(); Object.values(grads).forEach((g) => g.dispose());
  };
  const prompts = prompts6.map((e) => h.tokenizer.encode(e.prompt));
  const newTokens = 16;
  const search = batch.tokens / await timed(searchStep);
  const distill = batch.tokens / await timed(distillStep);
  const decode = (prompts.length * newTokens) / await timed(() => generateIds(h, prompts, { maxNewTokens: newTokens, stopIds: [-1] }));
  const profile = await tf.profile(distillStep);
  const byKernel = new Map();
  for (const k of profile.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0));
  const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
  const top = [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([n, ms]) => `${n} ${(100 * ms / Math.max(total, 1e-9)).toFixed(0)}%`).join(', ');
  const ids = batch.ids, attention = batch.attention;
  [alpha, ...Object.values(targets), ...Object.values(bt)].forEach((t) => t.dispose());
  optA.dispose(); optW.dispose(); student.dispose(); h.dispose();
  return { backend: backendName, search, distill, decode, tokens: batch.tokens, profile: top, ids, attention, prompts };
}

function torchReference(ids, attention, prompts) {
  const py = '/usr/bin/python3';
  const hasTorch = () => { try { execFileSync(py, ['-c', 'import torch'], { stdio: 'ignore' }); return true; } catch { return false; } };
  if (!hasTorch()) {
    process.stderr.write('PyTorch missing: installing Debian python3-torch (apt-get)…\n');
    try { execFileSync('bash', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch libopenblas0-pthread'], { stdio: 'inherit' }); } catch { /* reported below */ }
    if (!hasTorch()) return undefined;
  }
  const f = join(mkdtempSync(join(tmpdir(), 'e3-torch-')), 'args.json');
  writeFileSync(f, JSON.stringify({ model_dir: TEACHER, ids, attention, prompts, new_tokens: 16, repeats }));
  return JSON.parse(execFileSync(py, [join(BENCH, 'reference/torch_steps.py'), f], { encoding: 'utf8' }));
}

const results = [];
for (const b of ['cpu', 'wasm', 'tensorflow']) {
  try { results.push(await measure(b)); process.stderr.write(`${b}: done\n`); } catch (e) { process.stderr.write(`${b}: unavailable (${e.message.split('\n')[0]})\n`); }
}
const torch = torchReference(results[0].ids, results[0].attention, results[0].prompts);
const rows = [];
for (const step of ['search', 'distill', 'decode']) {
  for (const r of results) rows.push([step, r.backend, fmt(r[step], 0), torch ? fmt(torch[step], 0) : 'n/a', torch ? fmt(r[step] / torch[step], 3) + '×' : 'n/a']);
}
writeResult(QUICK ? 'throughput.quick' : 'throughput', header('Table 5 — training and decoding throughput vs PyTorch', { model: `${TEACHER.replace(/.*\/models\//, 'models/')} (Qwen3, 8 layers, d=64)`, batch: `${batchSize} examples (${results[0].tokens} real tokens) for search/distill; 32 prompts × 16 new tokens for decode`, PyTorch: torch ? `${torch.torch}, ${torch.threads} threads (Debian python3-torch, OpenBLAS)` : 'not available', repeats })
  + '\n' + table(['step', 'backend', 'tokens/s', 'PyTorch tokens/s', 'ratio'], rows)
  + '\n\n## Where the time goes (distillation step, share of kernel time)\n\n' + table(['backend', 'top kernels'], results.map((r) => [r.backend, r.profile])) + '\n');
