import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import {
  AdaptiveKlLoss,
  CrossEntropyLoss,
  ForwardKlLoss,
  ReverseKlLoss,
  chunks,
  headChunkRows,
  studentTokens,
  teacherTopK,
  tokensFromLogits,
  type LossInputs,
  type LossTerm,
  type ModelHandle,
  type StudentTokens,
} from '@e3/plugins';
import { useBackend } from '../helpers/tf.js';
import { bigVocabModel, QWEN_VOCAB } from '../helpers/tiny-model.js';

/** max |a − b| / max |b|. */
function relErr(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / Math.max(tf.max(tf.abs(b)).dataSync()[0], 1e-12));
}

const B = 2,
  T = 5,
  K = 4,
  CHUNK = 3;
const TERMS: LossTerm[] = [
  new ForwardKlLoss({ weight: 1 }),
  new ReverseKlLoss({ weight: 1 }),
  new AdaptiveKlLoss({ weight: 1, headMass: 0.5 }),
  new CrossEntropyLoss({ weight: 1, labelSmoothing: 0 }),
  new CrossEntropyLoss({ weight: 1, labelSmoothing: 0.1 }),
];
/**
 * Relative tolerance per term. With label smoothing the whole-logits reference sums V = 151,936
 * equal gradient entries in float32 (Σ_v ε/V inside logSoftmax's backward): against a float64
 * computation it is off by 6e-4, the chunked path (which adds them in closed form) by 1e-4.
 */
const tolerance = (t: LossTerm) => ((t as unknown as { smoothing: number }).smoothing > 0 ? 2e-3 : 1e-4);
/**
 * Values and the gradients to the head and to the hidden rows sum V-wide float32 rows in the
 * whole-logits reference; the native head kernels (on wasm here) match float64 computations to
 * 1e-5 (log-probabilities) and 1e-6 (the logits' gradient) (test/native/head-rows.test.ts) and
 * differ from this float32 reference by up to 2.2e-4 of its largest entry (1.4e-4 of a reverse
 * KL of 0.095, a difference of logs near −12).
 */
const headTolerance = (t: LossTerm) => Math.max(tolerance(t), 5e-4);

/** Logits [B, T, V] of final-norm rows, all at once: the unchunked reference. */
const wholeTokens = (h: ModelHandle, f: tf.Tensor2D, labels: tf.Tensor2D, ids?: tf.Tensor3D) =>
  tokensFromLogits(tf.reshape(h.model.head(f), [...labels.shape, QWEN_VOCAB]) as tf.Tensor3D, labels, ids);

describe('chunked output head at a Qwen3-sized vocabulary (151,936)', function () {
  this.timeout(300000);
  let h: ModelHandle;
  let ids: tf.Tensor2D, attention: tf.Tensor2D, labels: tf.Tensor2D, weights: tf.Tensor2D;
  let targets: { ids: tf.Tensor3D; logProbs: tf.Tensor3D; entropy: tf.Tensor2D };

  before(async () => {
    await useBackend('wasm');
    h = await bigVocabModel();
    ids = tf.tensor2d(
      [
        [5, 9, 151_000, 77, 3],
        [0, 0, 12, 150_999, 8],
      ],
      undefined,
      'int32',
    );
    attention = tf.tensor2d([
      [1, 1, 1, 1, 1],
      [0, 0, 1, 1, 1],
    ]);
    const top = tf.tidy(() => {
      return teacherTopK(h.model.forwardFinal(ids, { attentionMask: attention }).final, h.model.headWeight, K, CHUNK);
    });
    targets = {
      ids: tf.reshape(top.ids, [B, T, K]),
      logProbs: tf.reshape(top.logProbs, [B, T, K]),
      entropy: tf.reshape(top.entropy, [B, T]),
    };
    // Some labels equal a teacher top id (their gradients add up in one logit), some are ignored (−1).
    const top1 = (await targets.ids.array())[0].map((r) => r[0]);
    labels = tf.tensor2d(
      [
        [top1[0], 40_000, top1[2], 151_935, -1],
        [-1, -1, 7, top1[3], 100],
      ],
      undefined,
      'int32',
    );
    weights = tf.tensor2d([
      [1, 2, 0.5, 1, 0],
      [0, 0, 1, 3, 1],
    ]);
  });

  after(() => {
    h.dispose();
  });

  it('chunks by a 160 MiB budget by default: 276 rows at V = 151,936, all rows at toy sizes', () => {
    assert.equal(headChunkRows(QWEN_VOCAB), 276);
    assert.equal(headChunkRows(18) > 100_000, true);
    assert.equal(headChunkRows(QWEN_VOCAB, 7), 7);
    assert.deepEqual(chunks(1024, 276), [
      [0, 256],
      [256, 256],
      [512, 256],
      [768, 256],
    ]);
    assert.deepEqual(chunks(10, 4), [
      [0, 4],
      [4, 4],
      [8, 2],
    ]);
    assert.deepEqual(chunks(5, 8), [[0, 5]]);
  });

  it('teacher top-k, log-probs and entropy match the whole-logits computation', () => {
    tf.tidy(() => {
      const logp = tf.logSoftmax(h.model.forward(ids, { attentionMask: attention }).logits);
      const ref = tf.topk(logp, K);
      assert.deepEqual(Array.from(targets.ids.dataSync()), Array.from(ref.indices.dataSync()));
      assert.ok(relErr(targets.logProbs, ref.values) < 1e-4);
      assert.ok(relErr(targets.entropy, tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1))) < 1e-4);
    });
  });

  it('each loss term: value and gradients to a mask, the hidden states and the head equal the unchunked ones', () => {
    const mask = tf.variable(tf.tensor1d([0.9, 0.6]));
    const head = h.model.headWeight as tf.Tensor2D & tf.Variable;
    const active = tf.cast(tf.greaterEqual(labels, 0), 'float32') as tf.Tensor2D;
    const x: Omit<LossInputs, 'student'> = { labels, active, tokenWeights: weights, targets, vocabSize: QWEN_VOCAB };
    const chunked = (f: tf.Tensor2D, trainHead: boolean) =>
      studentTokens(f, head, { labels, topIds: targets.ids, trainHead, chunkTokens: CHUNK });
    for (const term of TERMS) {
      const tol = tolerance(term);
      const grads = (student: (final: tf.Tensor2D) => StudentTokens) =>
        tf.variableGrads(() => {
          const { final } = h.model.forwardFinal(ids, { attentionMask: attention, mask });
          return term.compute({ ...x, student: student(final) });
        }, [mask, head]);
      const c = grads((f) => chunked(f, true));
      const w = grads((f) => wholeTokens(h, f, labels, targets.ids));
      assert.ok(relErr(c.value, w.value) < headTolerance(term), `${term.name} value`);
      assert.ok(relErr(c.grads[mask.name], w.grads[mask.name]) < tol, `${term.name} d/dmask`);
      assert.ok(relErr(c.grads[head.name], w.grads[head.name]) < headTolerance(term), `${term.name} d/dhead`);
      assert.ok(tf.max(tf.abs(w.grads[mask.name])).dataSync()[0] > 0, `${term.name}: the mask gradient is not zero`);
      // With the head frozen (the mask search) only the hidden states get a gradient, the same one.
      const final = tf.tidy(() => h.model.forwardFinal(ids, { attentionMask: attention, mask: [0.9, 0.6] }).final);
      const dFinal = (student: (f: tf.Tensor2D) => StudentTokens) =>
        tf.grad((f) => term.compute({ ...x, student: student(f as tf.Tensor2D) }))(final);
      const frozen = dFinal((f) => chunked(f, false));
      const ref = dFinal((f) => wholeTokens(h, f, labels, targets.ids));
      assert.ok(relErr(frozen, ref) < headTolerance(term), `${term.name} d/dhidden`);
      [c.value, w.value, final, frozen, ref].forEach((t) => t.dispose());
      [c, w].forEach((r) => Object.values(r.grads).forEach((g) => g.dispose()));
    }
    mask.dispose();
  });

  it('the chunked loss keeps per-token statistics for the backward pass: far less memory than B·T·V', async () => {
    const rows = 64;
    const grid = (f: (b: number, t: number) => number) =>
      Array.from({ length: 4 }, (_, b) => Array.from({ length: rows / 4 }, (_, t) => f(b, t)));
    const big = tf.tensor2d(
      grid((b, t) => (b * 997 + t * 31) % 1000),
      undefined,
      'int32',
    );
    const lab = tf.tensor2d(
      grid((b, t) => (b * 13 + t * 7) % 1000),
      undefined,
      'int32',
    );
    const w = tf.ones(lab.shape) as tf.Tensor2D;
    const mask = tf.variable(tf.tensor1d([1, 0.5]));
    const term = new CrossEntropyLoss({ weight: 1, labelSmoothing: 0 });
    const peak = async (pick: (final: tf.Tensor2D) => StudentTokens) => {
      const before = tf.memory().numBytes;
      const info = await tf.profile(() => {
        const r = tf.variableGrads(() => {
          const { final } = h.model.forwardFinal(big, { mask });
          const student = pick(final);
          return term.compute({ student, labels: lab, active: w, tokenWeights: w, vocabSize: QWEN_VOCAB });
        }, [mask]);
        r.value.dispose();
        Object.values(r.grads).forEach((g) => g.dispose());
      });
      // The widest output of any kernel, weight-shaped ones ([V, d]: copies of the embedding) aside.
      const sizes = info.kernels.flatMap((k) => k.outputShapes.filter((s) => s[0] !== QWEN_VOCAB));
      return { extra: info.peakBytes - before, widest: Math.max(...sizes.map((s) => s.reduce((x, c) => x * c, 1))) };
    };
    const chunked = await peak((f) => {
      return studentTokens(f, h.model.headWeight, { labels: lab, trainHead: false, chunkTokens: 8 });
    });
    const whole = await peak((f) => wholeTokens(h, f, lab));
    assert.ok(chunked.widest <= 8 * QWEN_VOCAB, `a kernel made ${chunked.widest} elements`);
    assert.ok(whole.widest >= big.size * QWEN_VOCAB);
    // What remains is mostly tfjs's saved copy of the tied embedding (for the gather's gradient), not logits.
    const mib = (x: number) => (x / 2 ** 20).toFixed(0);
    assert.ok(
      chunked.extra < big.size * QWEN_VOCAB * 4 * 2 && chunked.extra * 5 < whole.extra,
      `peak above resident: chunked ${mib(chunked.extra)} MiB, whole ${mib(whole.extra)} MiB`,
    );
    [big, lab, w, mask].forEach((t) => t.dispose());
  });
});
