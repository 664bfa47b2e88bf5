import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import {
  AdaptiveKlLoss, CrossEntropyLoss, ForwardKlLoss, ReverseKlLoss, headChunkRows, studentTokens, teacherTopK,
  tokensFromLogits, type LossTerm, type ModelHandle, type StudentTokens,
} from '@e3/plugins';
import { useBackend } from '../helpers/tf.js';
import { bigVocabModel, QWEN_VOCAB } from '../helpers/tiny-model.js';

/** max |a − b| / max |b|. */
function relErr(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / Math.max(tf.max(tf.abs(b)).dataSync()[0], 1e-12));
}

const B = 2, T = 5, K = 4, CHUNK = 3;
const TERMS: LossTerm[] = [
  new ForwardKlLoss({ weight: 1 }), new ReverseKlLoss({ weight: 1 }), new AdaptiveKlLoss({ weight: 1, headMass: 0.5 }),
  new CrossEntropyLoss({ weight: 1, labelSmoothing: 0 }), new CrossEntropyLoss({ weight: 1, labelSmoothing: 0.1 }),
];
/**
 * Relative tolerance per term. With label smoothing the whole-logits reference sums V = 151,936
 * equal gradient entries in float32 (Σ_v ε/V inside logSoftmax's backward): against a float64
 * computation it is off by 6e-4, the chunked path (which adds them in closed form) by 1e-4.
 */
const tolerance = (t: LossTerm) => ((t as unknown as { smoothing: number }).smoothing > 0 ? 2e-3 : 1e-4);

describe('chunked output head at a Qwen3-sized vocabulary (151,936)', function () {
  this.timeout(300000);
  let h: ModelHandle;
  let ids: tf.Tensor2D, attention: tf.Tensor2D, labels: tf.Tensor2D, weights: tf.Tensor2D;
  let targets: { ids: tf.Tensor3D; logProbs: tf.Tensor3D; entropy: tf.Tensor2D };

  before(async () => {
    await useBackend('wasm');
    h = await bigVocabModel();
    ids = tf.tensor2d([[5, 9, 151_000, 77, 3], [0, 0, 12, 150_999, 8]], undefined, 'int32');
    attention = tf.tensor2d([[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]]);
    const top = tf.tidy(() => teacherTopK(h.model.forwardFinal(ids, { attentionMask: attention }).final, h.model.headWeight, K, CHUNK));
    targets = {
      ids: tf.reshape(top.ids, [B, T, K]) as tf.Tensor3D, logProbs: tf.reshape(top.logProbs, [B, T, K]) as tf.Tensor3D,
      entropy: tf.reshape(top.entropy, [B, T]) as tf.Tensor2D,
    };
    // Some labels equal a teacher top id (their gradients add up in one logit), one is ignored (−1).
    const top1 = (await targets.ids.array())[0].map((r) => r[0]);
    labels = tf.tensor2d([[top1[0], 40_000, top1[2], 151_935, -1], [-1, -1, 7, top1[3], 100]], undefined, 'int32');
    weights = tf.tensor2d([[1, 2, 0.5, 1, 0], [0, 0, 1, 3, 1]]);
  });

  after(() => { h.dispose(); });

  it('chunks by a 64 MiB budget by default: 110 rows at V = 151,936, all rows at toy sizes', () => {
    assert.equal(headChunkRows(QWEN_VOCAB), 110);
    assert.equal(headChunkRows(18) > 100_000, true);
    assert.equal(headChunkRows(QWEN_VOCAB, 7), 7);
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

  it('each loss term: value and gradients to a layer mask, the hidden states and the head match the unchunked ones', () => {
    const mask = tf.variable(tf.tensor1d([0.9, 0.6]));
    const head = h.model.headWeight as tf.Tensor2D & tf.Variable;
    for (const term of TERMS) {
      const tol = tolerance(term);
      const x = { labels, active: tf.cast(tf.greaterEqual(labels, 0), 'float32') as tf.Tensor2D, tokenWeights: weights, targets, vocabSize: QWEN_VOCAB };
      const loss = (student: (final: tf.Tensor2D) => StudentTokens) => tf.variableGrads(() => {
        const { final } = h.model.forwardFinal(ids, { attentionMask: attention, mask });
        return term.compute({ ...x, student: student(final) });
      }, [mask, head]);
      const chunked = loss((f) => studentTokens(f, head, { labels, topIds: targets.ids, trainHead: true, chunkTokens: CHUNK }));
      const whole = loss((f) => tokensFromLogits(tf.reshape(h.model.head(f), [B, T, QWEN_VOCAB]) as tf.Tensor3D, labels, targets.ids));
      assert.ok(relErr(chunked.value, whole.value) < tol, `${term.name} value`);
      assert.ok(relErr(chunked.grads[mask.name], whole.grads[mask.name]) < tol, `${term.name} d/dmask`);
      assert.ok(relErr(chunked.grads[head.name], whole.grads[head.name]) < tol, `${term.name} d/dhead`);
      assert.ok(tf.max(tf.abs(whole.grads[mask.name])).dataSync()[0] > 0, `${term.name}: the mask gradient is not zero`);
      // With the head frozen (the mask search) only the hidden states get a gradient, the same one.
      const final = tf.tidy(() => h.model.forwardFinal(ids, { attentionMask: attention, mask: [0.9, 0.6] }).final);
      const dFinal = (student: (f: tf.Tensor2D) => StudentTokens) => tf.grad((f) => term.compute({ ...x, student: student(f as tf.Tensor2D) }))(final);
      const frozen = dFinal((f) => studentTokens(f, head, { labels, topIds: targets.ids, trainHead: false, chunkTokens: CHUNK }));
      const ref = dFinal((f) => tokensFromLogits(tf.reshape(h.model.head(f), [B, T, QWEN_VOCAB]) as tf.Tensor3D, labels, targets.ids));
      assert.ok(relErr(frozen, ref) < tol, `${term.name} d/dhidden: ${relErr(frozen, ref)}`);
      [chunked.value, whole.value, ...Object.values(chunked.grads), ...Object.values(whole.grads), final, frozen, ref].forEach((t) => t.dispose());
    }
    mask.dispose();
  });

  it('the chunked loss keeps only per-token statistics for the backward pass: far less memory than B·T·V', async () => {
    const rows = 64;
    const grid = (f: (b: number, t: number) => number) => Array.from({ length: 4 }, (_, b) => Array.from({ length: rows / 4 }, (_, t) => f(b, t)));
    const big = tf.tensor2d(grid((b, t) => (b * 997 + t * 31) % 1000), undefined, 'int32');
    const lab = tf.tensor2d(grid((b, t) => (b * 13 + t * 7) % 1000), undefined, 'int32');
    const w = tf.ones(lab.shape) as tf.Tensor2D;
    const mask = tf.variable(tf.tensor1d([1, 0.5]));
    const term = new CrossEntropyLoss({ weight: 1, labelSmoothing: 0 });
    const peak = async (student: (final: tf.Tensor2D) => StudentTokens) => {
      const before = tf.memory().numBytes;
      const info = await tf.profile(() => {
        const r = tf.variableGrads(() => {
          const { final } = h.model.forwardFinal(big, { mask });
          return term.compute({ student: student(final), labels: lab, active: w, tokenWeights: w, vocabSize: QWEN_VOCAB });
        }, [mask]);
        r.value.dispose();
        Object.values(r.grads).forEach((g) => g.dispose());
      });
      // The widest output of any kernel, weight-shaped ones ([V, d]: copies of the embedding) aside.
      const sizes = info.kernels.flatMap((k) => k.outputShapes.filter((s) => s[0] !== QWEN_VOCAB).map((s) => s.reduce((x, c) => x * c, 1)));
      const widest = Math.max(...sizes);
      return { extra: info.peakBytes - before, widest };
    };
    const chunked = await peak((f) => studentTokens(f, h.model.headWeight, { labels: lab, trainHead: false, chunkTokens: 8 }));
    const whole = await peak((f) => tokensFromLogits(tf.reshape(h.model.head(f), [4, rows / 4, QWEN_VOCAB]) as tf.Tensor3D, lab));
    const logitsBytes = rows * QWEN_VOCAB * 4;
    assert.ok(chunked.widest <= 8 * QWEN_VOCAB, `a kernel made ${chunked.widest} elements`);
    assert.ok(whole.widest >= rows * QWEN_VOCAB);
    // What remains is mostly tfjs's saved copy of the tied embedding (for the gather's gradient), not logits.
    assert.ok(chunked.extra < logitsBytes * 2 && chunked.extra * 5 < whole.extra,
      `peak above resident: chunked ${(chunked.extra / 2 ** 20).toFixed(0)} MiB, whole ${(whole.extra / 2 ** 20).toFixed(0)} MiB`);
    [big, lab, w, mask].forEach((t) => t.dispose());
  });
});
