// The three steps that dominate a prune, at a real model's size, on e3's own code paths: a mask
// search step (Gumbel-TopK mask, forward KL through the chunked output head, gradients to the
// mask logits only), a distillation step (every weight, chunked head, fused AdamW) and greedy
// decoding with the KV cache. Random token batches of the given shape; best of `repeats` after
// `warmup`. Run by bench/scale.js in a fresh process per shape (its peak RSS is its own).
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '@e3/core';
import {
  AdamW,
  ForwardKlLoss,
  GumbelTopKSampler,
  generateIds,
  loadCheckpoint,
  studentTokens,
  teacherTopK,
  trainableVariables,
} from '@e3/plugins';

/**
 * The distillation variants: every weight as it is, with each memory option of distiller.train,
 * and without the cpu backend's reuse of disposed outputs (`backend: { bufferPool: false }`).
 */
export const DISTILL_VARIANTS = {
  distill: { recompute: false, freeze: [] },
  'distill-checkpointing': { recompute: true, freeze: [] },
  'distill-frozen-embeddings': { recompute: false, freeze: ['embeddings'] },
  'distill-no-reuse': { recompute: false, freeze: [], bufferPool: false },
};

async function best(fn, warmup, repeats) {
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  return Math.min(...times);
}

/** Tokens/s of each step, the batch, and the parameters that compute (for the FLOP count). */
export async function measureSteps({ dir, backend, batch: B, seq: T, newTokens, warmup, repeats, steps }) {
  const reuse = DISTILL_VARIANTS[steps.find((s) => s in DISTILL_VARIANTS)]?.bufferPool;
  await initBackend(reuse === undefined ? backend : { ...backend, bufferPool: reuse });
  const h = await loadCheckpoint(dir);
  const V = h.model.config.vocabSize,
    L = h.model.numLayers;
  const rng = new Rng(7);
  const rows = Array.from({ length: B }, () => Array.from({ length: T + 1 }, () => 2 + rng.int(V - 2)));
  const ids = tf.tensor2d(
    rows.map((r) => r.slice(0, -1)),
    undefined,
    'int32',
  );
  const labels = tf.tensor2d(
    rows.map((r) => r.slice(1)),
    undefined,
    'int32',
  );
  const active = tf.ones([B, T]);
  const top = tf.tidy(() => teacherTopK(h.model.forwardFinal(ids).final, h.model.headWeight, 10));
  const targets = {
    ids: tf.reshape(top.ids, [B, T, 10]),
    logProbs: tf.reshape(top.logProbs, [B, T, 10]),
    entropy: tf.reshape(top.entropy, [B, T]),
  };
  tf.dispose(Object.values(top));
  const term = new ForwardKlLoss({ weight: 1 });
  const loss = (mask, trainHead, recompute = false) => {
    const { final } = h.model.forwardFinal(ids, { mask, recompute });
    const student = studentTokens(final, h.model.headWeight, { labels, topIds: targets.ids, trainHead });
    return term.compute({ student, labels, active, tokenWeights: active, targets, vocabSize: V });
  };
  const out = { tokens: B * T, parameters: h.model.variables().reduce((n, v) => n + v.size, 0), layers: L };
  if (steps.includes('search')) {
    const alpha = tf.variable(tf.zeros([L]));
    const sampler = new GumbelTopKSampler({ noise: { from: 1, to: 0.1 } });
    const opt = new AdamW([alpha], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
    const sampleRng = new Rng(0);
    const step = async () => {
      const values = Array.from(await alpha.data());
      const k = Math.round(0.75 * L);
      const { value, grads } = tf.variableGrads(
        () => loss(sampler.sample(alpha, values, { k, tau: 0.5, progress: 0.5 }, sampleRng).mask, false),
        [alpha],
      );
      opt.apply([grads[alpha.name]], 0.1);
      await value.data();
      tf.dispose([value, ...Object.values(grads)]);
    };
    out.search = out.tokens / (await best(step, warmup, repeats));
    opt.dispose();
    alpha.dispose();
  }
  if (steps.includes('decode')) {
    const prompts = Array.from({ length: B }, () => Array.from({ length: 8 }, () => 2 + rng.int(V - 2)));
    const decode = () => generateIds(h, prompts, { maxNewTokens: newTokens, stopIds: [-1] });
    out.decode = (B * newTokens) / (await best(decode, Math.min(warmup, 1), repeats));
  }
  const variant = steps.find((s) => s in DISTILL_VARIANTS);
  if (variant) {
    // Last: AdamW's moments (2 × the weights) stay resident once made.
    const { recompute, freeze } = DISTILL_VARIANTS[variant];
    const { vars, trainHead } = trainableVariables(h.model, freeze);
    const opt = new AdamW(vars, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
    const step = async () => {
      const { value, grads } = tf.variableGrads(() => loss(undefined, trainHead, recompute), vars);
      opt.apply(
        vars.map((v) => grads[v.name]),
        1e-5,
      );
      await value.data();
      tf.dispose([value, ...Object.values(grads)]);
    };
    out[variant] = out.tokens / (await best(step, warmup, repeats));
    opt.dispose();
  }
  tf.dispose([ids, labels, active, ...Object.values(targets)]);
  h.dispose();
  return out;
}
