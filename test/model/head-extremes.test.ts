import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { loadAddon, nativeHeadRows } from '@e3/native';
import {
  CrossEntropyLoss,
  ForwardKlLoss,
  headKlPerToken,
  headNll,
  studentTokens,
  teacherTopK,
  type LossInputs,
} from '@e3/plugins';
import { skipBecause } from '../helpers/skip.js';
import { useBackend } from '../helpers/tf.js';

/*
 * The output head's statistics and the losses built on them at extreme logits, against float64
 * computed here from the same (float32-exact) logits. Five token rows I₅ under a head [V, 5], so
 * the logits are the head's columns exactly: logits[n][v] = HEAD[v][n].
 *   token 0: ±100 alternating (19 ids at +100, 18 at −100: p uniform over 19, H = log 19);
 *   token 1: −100 everywhere but +100 at id 3 (one-hot to e^−200);
 *   token 2: −100 everywhere (uniform, lse = −100 + log 37);
 *   tokens 3, 4: moderate logits, and vocabulary row 30 far from the rest: +400 for token 3,
 *   −400 for token 4 (its probability 0 in float32, its log-probability −405).
 * The student's head moves each logit by a multiple of 1/8 and row 30 to −400 for token 3, so
 * KL(teacher ‖ student) of token 3 is ≈ 400 + 400 − (lse_p − lse_q) ≈ 407.
 */
const V = 37;
const N = 5;
const K = 3;
const FAR = 30;
const LABELS = [5, 3, 0, FAR, FAR];

function teacherLogits(): number[][] {
  const z = Array.from({ length: N }, (_, n) => Array.from({ length: V }, (_, v) => ((n * 7 + v * 3) % 11) - 5));
  z[0] = z[0].map((_, v) => (v % 2 ? -100 : 100));
  z[1] = z[1].map((_, v) => (v === 3 ? 100 : -100));
  z[2] = z[2].map(() => -100);
  z[3][FAR] = 400;
  z[4][FAR] = -400;
  return z;
}

function studentLogits(): number[][] {
  const z = teacherLogits().map((row, n) => row.map((x, v) => x + (((n + 2 * v) % 5) - 2) / 8));
  z[3][FAR] = -400;
  return z;
}

/** log Σ exp of a row, in float64. */
function lse(row: readonly number[]): number {
  const m = Math.max(...row);
  return m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
}
const logSoftmax = (row: readonly number[]) => {
  const l = lse(row);
  return row.map((x) => x - l);
};
const topIds = (row: readonly number[]) => [...row.keys()].sort((a, b) => row[b] - row[a] || a - b).slice(0, K);

/** The head [V, 5] whose columns are the rows of `logits`. */
const headOf = (logits: number[][]) => tf.transpose(tf.tensor2d(logits)) as tf.Tensor2D;

/**
 * |got − want| within 1e-6 relative or 5e-5 absolute: float32 values of logits up to 400 (every path
 * was within 3.2e-5, a mean log q of −100 on wasm's ops). A sum of products (a matmul) is held to its
 * float32 bound instead: 4e-6 of `scale`, the sum of its terms' magnitudes (37 terms: ≈ 37 ulps).
 */
function close(got: number, want: number, what: string, scale = 0): void {
  const tol = Math.max(5e-5, 1e-6 * Math.abs(want), 4e-6 * scale);
  assert.ok(Math.abs(got - want) <= tol, `${what} = ${got}, float64 ${want} (± ${tol})`);
}
function closeAll(got: ArrayLike<number>, want: readonly number[], what: string, scale?: readonly number[]): void {
  assert.equal(got.length, want.length, `${what}: length`);
  want.forEach((w, i) => close(got[i], w, `${what}[${i}]`, scale?.[i]));
}

const P = teacherLogits();
const Q = studentLogits();
const LOGP = P.map(logSoftmax);
const LOGQ = Q.map(logSoftmax);

function checkTeacherStatistics(): void {
  tf.tidy(() => {
    const r = teacherTopK(tf.eye(N) as tf.Tensor2D, headOf(P), K);
    const ids = r.ids.arraySync();
    const logProbs = r.logProbs.arraySync();
    const entropy = r.entropy.dataSync();
    P.forEach((row, n) => {
      assert.deepEqual(ids[n], topIds(row), `top-${K} ids of token ${n} (ties by lower id)`);
      closeAll(
        logProbs[n],
        topIds(row).map((v) => LOGP[n][v]),
        `top-${K} log-probabilities of token ${n}`,
      );
      close(entropy[n], -LOGP[n].reduce((s, l) => s + Math.exp(l) * l, 0), `entropy of token ${n}`);
    });
    close(entropy[0], Math.log(19), 'entropy of 19 equal logits');
    close(entropy[2], Math.log(V), 'entropy of a uniform row at −100');
  });
}

function checkNllAndKl(): void {
  tf.tidy(() => {
    const eye = tf.eye(N) as tf.Tensor2D;
    const nll = headNll(eye, headOf(P), tf.tensor1d(LABELS, 'int32')).dataSync();
    closeAll(
      nll,
      LABELS.map((v, n) => -LOGP[n][v]),
      '−log p(label)',
    );
    const kl = headKlPerToken(eye, eye, headOf(P), headOf(Q)).dataSync();
    const want = LOGP.map((lp, n) => lp.reduce((s, l, v) => s + Math.exp(l) * (l - LOGQ[n][v]), 0));
    assert.ok(want[3] > 400, `token 3's KL is large: ${want[3]}`);
    closeAll(kl, want, 'KL(p ‖ q)');
  });
}

/**
 * The student's statistics (log q at the teacher's top-k ids and the label, the mean log q) and
 * their gradients to the rows and the head under upstream weights c: for a picked log q_j the
 * logits' gradient is 1[v = j] − q_v, for the mean 1/V − q_v (float64 from the formula).
 */
function checkStudentTokens(): void {
  const cols = P.map((row, n) => [...topIds(row), LABELS[n]]);
  const c = cols.map((_, n) => Array.from({ length: K + 2 }, (_, i) => ((n + i) % 3) - 0.75));
  tf.tidy(() => {
    const labels = tf.tensor2d([LABELS], [1, N], 'int32');
    const ids = tf.tensor3d([cols.map((r) => r.slice(0, K))], [1, N, K], 'int32');
    const f = (rows: tf.Tensor, head: tf.Tensor) => {
      const s = studentTokens(rows as tf.Tensor2D, head as tf.Tensor2D, { labels, topIds: ids, trainHead: true });
      const all = tf.concat(
        [tf.reshape(s.logQTop!, [N, K]), tf.reshape(s.logQLabel, [N, 1]), tf.reshape(s.meanLogQ, [N, 1])],
        1,
      );
      return tf.sum(tf.mul(all, tf.tensor2d(c)));
    };
    const s = studentTokens(tf.eye(N) as tf.Tensor2D, headOf(Q), { labels, topIds: ids, trainHead: true });
    const top = s.logQTop!.arraySync()[0];
    const label = s.logQLabel.dataSync();
    const mean = s.meanLogQ.dataSync();
    cols.forEach((col, n) => {
      closeAll(
        top[n],
        col.slice(0, K).map((v) => LOGQ[n][v]),
        `log q at the teacher's ids, token ${n}`,
      );
      close(label[n], LOGQ[n][LABELS[n]], `log q(label), token ${n}`);
      close(mean[n], LOGQ[n].reduce((a, b) => a + b, 0) / V, `mean log q, token ${n}`);
    });
    const [dRows, dHead] = tf.grads(f)([tf.eye(N), headOf(Q)]);
    // dz[n][v] = Σ_i c_i·1[v = col_i] + c_mean/V − q_v·Σ c; d rows = dz·HEAD, d HEAD[v][n] = dz[n][v].
    const dz = LOGQ.map((lq, n) => {
      const total = c[n].reduce((a, b) => a + b, 0);
      const row = lq.map((l) => c[n][K + 1] / V - Math.exp(l) * total);
      cols[n].forEach((v, i) => (row[v] += c[n][i]));
      return row;
    });
    const dRowsWant = dz.map((row) => Array.from({ length: N }, (_, j) => row.reduce((s, x, v) => s + x * Q[j][v], 0)));
    const terms = dz.map((row) =>
      Array.from({ length: N }, (_, j) => row.reduce((s, x, v) => s + Math.abs(x * Q[j][v]), 0)),
    );
    closeAll(dRows.dataSync(), dRowsWant.flat(), 'gradient to the rows', terms.flat());
    const dHeadWant = Array.from({ length: V }, (_, v) => dz.map((row) => row[v]));
    closeAll(dHead.dataSync(), dHeadWant.flat(), 'gradient to the head');
  });
}

/** Forward KL over the k+1 buckets and cross-entropy with label smoothing, as METHOD.md defines them. */
function checkLosses(): void {
  const eps = 0.1;
  const bucketKl = LOGP.map((lp, n) => {
    const ids = topIds(P[n]);
    const rest = (l: number[]) => Math.log(Math.max(1 - l.reduce((s, x) => s + Math.exp(x), 0), 1e-8));
    const p = [...ids.map((v) => lp[v])];
    const q = [...ids.map((v) => LOGQ[n][v])];
    p.push(rest(p));
    q.push(rest(q));
    return p.reduce((s, l, i) => s + Math.exp(l) * (l - q[i]), 0);
  });
  const ce = LOGQ.map((lq, n) => -((1 - eps) * lq[LABELS[n]] + (eps / V) * lq.reduce((a, b) => a + b, 0)));
  const weights = [1, 2, 0.5, 1, 3];
  const mean = (x: number[]) => x.reduce((s, v, n) => s + v * weights[n], 0) / weights.reduce((a, b) => a + b, 0);
  tf.tidy(() => {
    const eye = tf.eye(N) as tf.Tensor2D;
    const teacher = teacherTopK(eye, headOf(P), K);
    const labels = tf.tensor2d([LABELS], [1, N], 'int32');
    const ids = tf.reshape(teacher.ids, [1, N, K]) as tf.Tensor3D;
    const x: LossInputs = {
      student: studentTokens(eye, headOf(Q), { labels, topIds: ids, trainHead: false }),
      labels,
      active: tf.ones([1, N]),
      tokenWeights: tf.tensor2d([weights]),
      vocabSize: V,
      targets: {
        ids,
        logProbs: tf.reshape(teacher.logProbs, [1, N, K]) as tf.Tensor3D,
        entropy: tf.reshape(teacher.entropy, [1, N]) as tf.Tensor2D,
      },
    };
    close(new ForwardKlLoss({ weight: 1 }).compute(x).dataSync()[0], mean(bucketKl), 'forward KL (k+1 buckets)');
    const smoothed = new CrossEntropyLoss({ weight: 1, labelSmoothing: eps }).compute(x).dataSync()[0];
    close(smoothed, mean(ce), 'cross-entropy, label smoothing 0.1');
  });
}

const PATHS = [
  { backend: 'cpu', native: false },
  { backend: 'wasm', native: false },
  { backend: 'cpu', native: true },
  { backend: 'wasm', native: true },
] as const;

describe('output head at logits of ±100 and a far vocabulary row, against float64', () => {
  for (const { backend, native } of PATHS) {
    describe(`${backend}, ${native ? 'native head kernels' : 'tfjs ops'}`, () => {
      before(async function () {
        if (native && !loadAddon()) skipBecause(this, 'the native addon is not built here (native/build.js)');
        await useBackend(backend, { native });
        assert.equal(nativeHeadRows(), native);
      });
      it('teacher top-k ids, log-probabilities and entropy', checkTeacherStatistics);
      it('−log p(label) and KL(p ‖ q) per token', checkNllAndKl);
      it("the student's statistics and their gradients to the rows and the head", checkStudentTokens);
      it('forward KL and smoothed cross-entropy, token-weighted', checkLosses);
    });
  }
});
