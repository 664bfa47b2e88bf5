import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { loadAddon, nativeHeadRows } from '@e3/native';
import { TeacherEntropyWeighting, teacherTopK, weightedMean, type TeacherTargets } from '@e3/plugins';
import { skipBecause } from '../helpers/skip.js';
import { useBackend } from '../helpers/tf.js';

/*
 * The entropy-aware weights (METHOD.md Stage 2: w_t = 1 + β·H_t / log V) from a teacher's logits,
 * against a table worked out by hand. V = 4, so log V = 2·log 2 and every weight is a fraction:
 *
 *   teacher p          logits                 H_t (nats)                     w (β = 1)  w (β = 0.5)
 *   [¼, ¼, ¼, ¼]       [0, 0, 0, 0]           log 4 = 1.3862944               2          1.5
 *   [½, ½, 0, 0]       [0, 0, −100, −100]     log 2 = 0.6931472               1.5        1.25
 *   [1, 0, 0, 0]       [100, −100, −100, −100] 0                              1          1
 *   [½, ¼, ¼, 0]       [log 2, 0, 0, −100]    ½·log 2 + ½·log 4 = 1.0397208   1.75       1.375
 *
 * (e^−100 ≈ 4e−44 of mass changes H by < 1e−40.) Per-token losses x = [1, 2, 3, 4] averaged with the
 * β = 1 weights: Σ w·x / Σ w = (2 + 3 + 3 + 7) / (2 + 1.5 + 1 + 1.75) = 15 / 6.25 = 2.4.
 */
const LOGITS = [
  [0, 0, 0, 0],
  [0, 0, -100, -100],
  [100, -100, -100, -100],
  [Math.log(2), 0, 0, -100],
];
const ENTROPY = [1.3862944, 0.6931472, 0, 1.0397208];
const WEIGHTS: Record<number, number[]> = { 1: [2, 1.5, 1, 1.75], 0.5: [1.5, 1.25, 1, 1.375] };

function close(got: number, want: number, what: string, tol = 1e-6): void {
  assert.ok(Math.abs(got - want) <= tol, `${what} = ${got}, by hand ${want} (± ${tol})`);
}

/** The teacher's targets as the cache computes them: rows I₄ under a head whose column n is logits row n. */
function targetsFromLogits(): TeacherTargets {
  return tf.tidy(() => {
    const final = tf.eye(4) as tf.Tensor2D;
    const head = tf.transpose(tf.tensor2d(LOGITS)) as tf.Tensor2D; // logits = I·headᵀ = LOGITS
    const r = teacherTopK(final, head, 2);
    return {
      ids: tf.reshape(r.ids, [1, 4, 2]) as tf.Tensor3D,
      logProbs: tf.reshape(r.logProbs, [1, 4, 2]) as tf.Tensor3D,
      entropy: tf.reshape(r.entropy, [1, 4]) as tf.Tensor2D,
    };
  });
}

function checkTable(): void {
  const targets = targetsFromLogits();
  const entropy = targets.entropy.dataSync();
  ENTROPY.forEach((h, t) => close(entropy[t], h, `H of token ${t}`));
  for (const beta of [1, 0.5]) {
    const w = new TeacherEntropyWeighting({ beta }).weights(tf.tensor2d([[1, 1, 1, 1]]), targets, 4);
    WEIGHTS[beta].forEach((want, t) => close(w.dataSync()[t], want, `w of token ${t} at β ${beta}`));
    if (beta === 1) close(weightedMean(tf.tensor2d([[1, 2, 3, 4]]), w, tf).dataSync()[0], 2.4, 'Σ w·x / Σ w');
    w.dispose();
  }
  // An inactive token (padding, a prompt) weighs 0 whatever the teacher's entropy.
  const masked = new TeacherEntropyWeighting({ beta: 1 }).weights(tf.tensor2d([[1, 0, 1, 0]]), targets, 4);
  assert.deepEqual(Array.from(masked.dataSync()), [2, 0, 1, 0]);
  tf.dispose([masked, targets.ids, targets.logProbs, targets.entropy]);
}

describe('weighting.teacherEntropy: the weights from teacher logits against a hand table', () => {
  it('teacher statistics by tfjs ops (cpu)', async () => {
    await useBackend('cpu');
    assert.equal(nativeHeadRows(), false);
    checkTable();
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`teacher statistics by the native head kernels (${backend})`, async function () {
      if (!loadAddon()) skipBecause(this, 'the native addon is not built here (native/build.js)');
      await useBackend(backend, { native: true });
      assert.ok(nativeHeadRows());
      checkTable();
    });
  }
});
