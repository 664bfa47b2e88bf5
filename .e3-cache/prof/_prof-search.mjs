import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '@e3/core';
import { AdamW, ForwardKlLoss, GumbelTopKSampler, loadCheckpoint, studentTokens, teacherTopK } from '@e3/plugins';
const dir = process.argv[2] ?? '/work/ckpt/qwen3-0.6b';
await initBackend({ name: 'cpu' });
const h = await loadCheckpoint(dir);
const B = 4, T = 64, V = h.model.config.vocabSize, L = h.model.numLayers;
const rng = new Rng(7);
const rows = Array.from({ length: B }, () => Array.from({ length: T + 1 }, () => 2 + rng.int(V - 2)));
const ids = tf.tensor2d(rows.map((r) => r.slice(0, -1)), undefined, 'int32');
const labels = tf.tensor2d(rows.map((r) => r.slice(1)), undefined, 'int32');
const active = tf.ones([B, T]);
const top = tf.tidy(() => teacherTopK(h.model.forwardFinal(ids).final, h.model.headWeight, 10));
const targets = { ids: tf.reshape(top.ids, [B, T, 10]), logProbs: tf.reshape(top.logProbs, [B, T, 10]), entropy: tf.reshape(top.entropy, [B, T]) };
const term = new ForwardKlLoss({ weight: 1 });
const alpha = tf.variable(tf.zeros([L]));
const sampler = new GumbelTopKSampler({ noise: { from: 1, to: 0.1 } });
const opt = new AdamW([alpha], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
const sampleRng = new Rng(0);
const step = async () => {
  const t0 = performance.now();
  const values = Array.from(await alpha.data());
  const { value, grads } = tf.variableGrads(() => {
    const mask = sampler.sample(alpha, values, { k: 21, tau: 0.5, progress: 0.5 }, sampleRng).mask;
    const { final } = h.model.forwardFinal(ids, { mask });
    const student = studentTokens(final, h.model.headWeight, { labels, topIds: targets.ids, trainHead: false });
    return term.compute({ student, labels, active, tokenWeights: active, targets, vocabSize: V });
  }, [alpha]);
  opt.apply([grads[alpha.name]], 0.1);
  await value.data();
  tf.dispose([value, ...Object.values(grads)]);
  console.log(`step ${((performance.now() - t0) / 1000).toFixed(2)} s`);
};
await step(); await step();
if (process.env.PROF) {
  const p = await tf.profile(step);
  const agg = {};
  for (const k of p.kernels) { const a = (agg[k.name] ??= { ms: 0, n: 0 }); a.ms += Number(k.kernelTimeMs) || 0; a.n++; }
  console.log(Object.entries(agg).sort((a, b) => b[1].ms - a[1].ms).slice(0, 25).map(([n, a]) => `${n} ${a.n} ${a.ms.toFixed(0)}ms`).join('\n'));
} else { for (let i = 0; i < Number(process.env.STEPS ?? 1); i++) await step(); }
