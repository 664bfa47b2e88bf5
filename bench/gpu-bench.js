#!/usr/bin/env node
// GPU timing for bench/device-check.sh: a search step, a distillation step and greedy decoding
// on a random 24-layer, d=1024 Qwen3 model (built in process: nothing is downloaded), on the
// webgpu backend against the CPU path (wasm), writing bench/results/gpu.md.
//   node bench/gpu-bench.js [--quick]
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '@e3/core';
import {
  AdamW,
  DecoderModel,
  ForwardKlLoss,
  generateIds,
  GumbelTopKSampler,
  initWeights,
  makeHandle,
  parseDecoderConfig,
  weightsFromNamed,
} from '@e3/plugins';
import { benchCli, fmt, header, median, QUICK, table, writeResult } from './lib/table.js';
benchCli(
  'usage: node bench/gpu-bench.js [--quick]\n  GPU timing (webgpu vs the CPU path); writes bench/results/gpu.md.',
  {},
);

const raw = QUICK
  ? {
      model_type: 'qwen3',
      hidden_size: 128,
      intermediate_size: 256,
      num_hidden_layers: 4,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 32,
      vocab_size: 512,
      rms_norm_eps: 1e-6,
      rope_theta: 1e6,
      max_position_embeddings: 256,
    }
  : {
      model_type: 'qwen3',
      hidden_size: 1024,
      intermediate_size: 3072,
      num_hidden_layers: 24,
      num_attention_heads: 16,
      num_key_value_heads: 8,
      head_dim: 64,
      vocab_size: 4096,
      rms_norm_eps: 1e-6,
      rope_theta: 1e6,
      max_position_embeddings: 1024,
    };
const B = QUICK ? 2 : 8,
  T = QUICK ? 16 : 128,
  repeats = QUICK ? 1 : 3;

async function measure(backend) {
  const b = await initBackend(backend);
  const c = parseDecoderConfig(raw, 'gpu-bench');
  const model = new DecoderModel(c, weightsFromNamed(c, initWeights(c, new Rng(0), 0.02)), {
    rawConfig: raw,
    keptLayers: [...Array(c.numLayers).keys()],
    originalLayers: c.numLayers,
  });
  const h = makeHandle({ model, dtype: 'F32', eosId: 1, padId: 0 });
  const rng = new Rng(1);
  const ids = tf.tensor2d(
    Array.from({ length: B }, () => Array.from({ length: T }, () => 3 + rng.int(c.vocabSize - 3))),
    undefined,
    'int32',
  );
  const active = tf.ones([B, T]);
  const logp = tf.logSoftmax(model.forward(ids).logits);
  const { values, indices } = tf.topk(logp, 10);
  const targets = { ids: indices, logProbs: values, entropy: tf.zeros([B, T]) };
  const loss = (mask) =>
    new ForwardKlLoss({ weight: 1 }).compute({
      logits: model.forward(ids, { mask }).logits,
      labels: tf.zeros([B, T], 'int32'),
      active,
      tokenWeights: active,
      targets,
      vocabSize: c.vocabSize,
    });
  const time = async (fn) => {
    await fn();
    const ts = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      await fn();
      ts.push((performance.now() - t0) / 1000);
    }
    return median(ts);
  };
  const alpha = tf.variable(tf.zeros([c.numLayers]));
  const sampler = new GumbelTopKSampler({ noise: { from: 1, to: 1 } });
  const search = async () => {
    const av = Array.from(await alpha.data());
    const { value, grads } = tf.variableGrads(
      () => loss(sampler.sample(alpha, av, { k: c.numLayers / 2, tau: 0.5, progress: 0 }, rng).mask),
      [alpha],
    );
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
  };
  const vars = model.variables();
  const opt = new AdamW(vars, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  const distill = async () => {
    const { value, grads } = tf.variableGrads(() => loss(), vars);
    opt.apply(
      vars.map((v) => grads[v.name]),
      1e-5,
    );
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
  };
  const prompts = Array.from({ length: B }, () => Array.from({ length: 16 }, () => 3 + rng.int(c.vocabSize - 3)));
  const decode = () => generateIds(h, prompts, { maxNewTokens: 16, stopIds: [-1] });
  const r = {
    backend: b.name,
    reason: b.reason,
    search: (B * T) / (await time(search)),
    distill: (B * T) / (await time(distill)),
    decode: (B * 16) / (await time(decode)),
  };
  opt.dispose();
  h.dispose();
  tf.dispose([ids, active, logp, values, indices, targets.entropy, alpha]);
  return r;
}

const gpu = await measure('webgpu');
const cpu = await measure('wasm');
const rows = ['search', 'distill', 'decode'].map((s) => [
  s,
  fmt(gpu[s], 0),
  fmt(cpu[s], 0),
  fmt(gpu[s] / cpu[s], 2) + '×',
]);
writeResult(
  QUICK ? 'gpu.quick' : 'gpu',
  header('GPU: webgpu (Dawn) against the CPU path', {
    model: `random Qwen3, ${raw.num_hidden_layers} layers, d=${raw.hidden_size}, vocab ${raw.vocab_size}`,
    batch: `${B} × ${T} tokens (decode: ${B} prompts × 16 new tokens)`,
    webgpu: gpu.reason,
    cpu: cpu.reason,
  }) +
    '\n' +
    table(['step', 'webgpu tokens/s', 'wasm tokens/s', 'ratio'], rows) +
    '\n',
);
