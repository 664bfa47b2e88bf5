import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '@e3/core';
import { AdamW, ForwardKlLoss, loadCheckpoint, studentTokens, teacherTopK } from '@e3/plugins';
const dir = process.argv[2] ?? '/work/ckpt/qwen3-0.6b';
await initBackend({ name: 'cpu' });
const h = await loadCheckpoint(dir);
const B = 4, T = 64, V = h.model.config.vocabSize;
const rng = new Rng(7);
const rows = Array.from({ length: B }, () => Array.from({ length: T + 1 }, () => 2 + rng.int(V - 2)));
const ids = tf.tensor2d(rows.map((r) => r.slice(0, -1)), undefined, 'int32');
const labels = tf.tensor2d(rows.map((r) => r.slice(1)), undefined, 'int32');
const active = tf.ones([B, T]);
const top = tf.tidy(() => teacherTopK(h.model.forwardFinal(ids).final, h.model.headWeight, 10));
const targets = { ids: tf.reshape(top.ids, [B, T, 10]), logProbs: tf.reshape(top.logProbs, [B, T, 10]), entropy: tf.reshape(top.entropy, [B, T]) };
const term = new ForwardKlLoss({ weight: 1 });
const vars = h.model.variables();
const opt = new AdamW(vars, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
const phases = {};
const step = async () => {
  let t0 = performance.now();
  const { value, grads } = tf.variableGrads(() => {
    const { final } = h.model.forwardFinal(ids);
    const student = studentTokens(final, h.model.headWeight, { labels, topIds: targets.ids, trainHead: true });
    return term.compute({ student, labels, active, tokenWeights: active, targets, vocabSize: V });
  }, vars);
  await value.data();
  const t1 = performance.now();
  opt.apply(vars.map((v) => grads[v.name]), 1e-5);
  await value.data();
  const t2 = performance.now();
  tf.dispose([value, ...Object.values(grads)]);
  const t3 = performance.now();
  console.log(`grads ${((t1 - t0) / 1000).toFixed(2)} s, adamw ${((t2 - t1) / 1000).toFixed(2)} s, dispose ${((t3-t2)/1000).toFixed(2)}`);
};
await step();
if (process.env.PROF) {
  const p = await tf.profile(step);
  const agg = {};
  for (const k of p.kernels) { const a = (agg[k.name] ??= { ms: 0, n: 0 }); a.ms += Number(k.kernelTimeMs) || 0; a.n++; }
  console.log(Object.entries(agg).sort((a, b) => b[1].ms - a[1].ms).slice(0, 25).map(([n, a]) => `${n} ${a.n} ${a.ms.toFixed(0)}ms`).join('\n'));
} else { await step(); await step(); }
console.log('rss', (process.memoryUsage().rss / 2 ** 30).toFixed(2));
