#!/usr/bin/env node
// Peak tfjs memory of one loss step (forward + gradient) and of one teacher top-k pass at Qwen3's
// vocabulary (151,936) on a 2-layer, d = 64 model, with the output head in chunks and whole.
// Memory, not time: `tf.profile`'s peak of tf.memory().numBytes above what was resident.
//   node bench/head-memory.js [--rows 256]
import { initBackend } from '@e3/core';
import * as tf from '@tensorflow/tfjs-core';
import { ForwardKlLoss, headChunkRows, studentTokens, teacherTopK, tokensFromLogits } from '@e3/plugins';
import { bigVocabModel } from './lib/big-vocab.js';
import { arg, benchCli } from './lib/table.js';
benchCli(
  'usage: node bench/head-memory.js [--rows 256]\n  Peak tfjs memory of a loss step and a teacher top-k pass at vocabulary 151,936, chunked head vs whole.',
  { rows: { type: 'string', description: 'token rows per step', default: 256 } },
);

await initBackend('wasm');
const V = 151_936;
const rows = Number(arg('rows', '256'));
const B = 16,
  T = rows / B,
  K = 10;
const h = await bigVocabModel(V);
const grid = (f) =>
  tf.tensor2d(
    Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => f(b, t))),
    undefined,
    'int32',
  );
const ids = grid((b, t) => (b * 7919 + t * 104_729) % V);
const labels = grid((b, t) => (b * 31 + t * 17) % V);
const w = tf.ones([B, T]);
const mib = (x) => `${(x / 2 ** 20).toFixed(0)} MiB`;

async function peak(fn) {
  const before = tf.memory().numBytes;
  const info = await tf.profile(() => {
    tf.dispose(fn());
  });
  return info.peakBytes - before;
}

const top = tf.tidy(() => teacherTopK(h.model.forwardFinal(ids).final, h.model.headWeight, K));
const targets = {
  ids: tf.reshape(top.ids, [B, T, K]),
  logProbs: tf.reshape(top.logProbs, [B, T, K]),
  entropy: tf.reshape(top.entropy, [B, T]),
};
const term = new ForwardKlLoss({ weight: 1 });
const mask = tf.variable(tf.tensor1d([1, 0.5]));
const step = (chunked, trainHead) => () => {
  const vars = trainHead ? h.model.variables() : [mask];
  const r = tf.variableGrads(() => {
    const { final } = h.model.forwardFinal(ids, { mask: trainHead ? undefined : mask });
    const student = chunked
      ? studentTokens(final, h.model.headWeight, { labels, topIds: targets.ids, trainHead })
      : tokensFromLogits(tf.reshape(h.model.head(final), [B, T, V]), labels, targets.ids);
    return term.compute({ student, labels, active: w, tokenWeights: w, targets, vocabSize: V });
  }, vars);
  return [r.value, ...Object.values(r.grads)];
};
const teacher = (chunked) => () => {
  const { final } = h.model.forwardFinal(ids);
  if (chunked) return Object.values(teacherTopK(final, h.model.headWeight, K));
  const logp = tf.logSoftmax(h.model.head(final));
  const r = tf.topk(logp, K);
  return [r.values, r.indices, tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1))];
};
console.log(
  `B·T = ${rows} rows, V = ${V}: logits ${mib(rows * V * 4)}; chunks of ${headChunkRows(V)} rows; ` +
    `resident ${mib(tf.memory().numBytes)}`,
);
for (const [name, f] of [
  ['teacher top-k + entropy', teacher],
  ['search step (FKL, d/dmask)', (c) => step(c, false)],
  ['distillation step (FKL, d/dweights)', (c) => step(c, true)],
]) {
  console.log(`${name}: chunked ${mib(await peak(f(true)))}, whole ${mib(await peak(f(false)))} above resident`);
}
