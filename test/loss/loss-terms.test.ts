import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import {
  AdaptiveKlLoss,
  CrossEntropyLoss,
  ForwardKlLoss,
  ReverseKlLoss,
  TeacherEntropyWeighting,
  UniformWeighting,
  aklGaps,
  bucketLogProbs,
  klPerToken,
  tokensFromLogits,
  weightedMean,
  type LossInputs,
} from '@e3/plugins';
import { maxAbsDiff, useBackend } from '../helpers/tf.js';

// Two tokens, V = 4. Teacher top-2 (k = 2): token 1 → ids [0, 1] with p [0.5, 0.3] (rest 0.2);
// token 2 → ids [2, 0] with p [0.7, 0.1] (rest 0.2). Student q: token 1 [0.4, 0.4, 0.1, 0.1];
// token 2 [0.1, 0.2, 0.6, 0.1].
const q1 = [0.4, 0.4, 0.1, 0.1];
const q2 = [0.1, 0.2, 0.6, 0.1];
const teacherIds = () =>
  tf.tensor3d(
    [
      [
        [0, 1],
        [2, 0],
      ],
    ],
    undefined,
    'int32',
  );
const labels = () => tf.tensor2d([[1, 2]], undefined, 'int32');
const studentLogits = () => tf.tensor3d([[q1.map(Math.log), q2.map(Math.log)]]);
function inputs(weights = [1, 1]): LossInputs {
  return {
    student: tokensFromLogits(studentLogits(), labels(), teacherIds()),
    labels: labels(),
    active: tf.tensor2d([[1, 1]]),
    tokenWeights: tf.tensor2d([weights]),
    vocabSize: 4,
    targets: {
      ids: teacherIds(),
      logProbs: tf.tensor3d([
        [
          [Math.log(0.5), Math.log(0.3)],
          [Math.log(0.7), Math.log(0.1)],
        ],
      ]),
      entropy: tf.tensor2d([[1.0, 0.5]]),
    },
  };
}
const kl = (p: number[], q: number[]) => p.reduce((s, pi, i) => s + pi * Math.log(pi / q[i]), 0);
// buckets: token 1 p [0.5, 0.3, 0.2], q [0.4, 0.4, 0.2]; token 2 p [0.7, 0.1, 0.2], q [0.6, 0.1, 0.3]
const P1 = [0.5, 0.3, 0.2],
  Q1 = [0.4, 0.4, 0.2],
  P2 = [0.7, 0.1, 0.2],
  Q2 = [0.6, 0.1, 0.3];
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-5, `${what}: ${a} vs ${b}`);
const value = (s: tf.Scalar) => s.dataSync()[0];

describe('loss terms over k+1 buckets', () => {
  before(() => useBackend('cpu'));

  it('builds the k+1 buckets: teacher top-k + rest, student on the same ids + its own rest', () => {
    const { logP, logQ } = bucketLogProbs(inputs());
    const p = tf.exp(logP).arraySync() as number[][][];
    const q = tf.exp(logQ).arraySync() as number[][][];
    [P1, P2].forEach((row, t) => row.forEach((v, i) => close(p[0][t][i], v, `p[${t}][${i}]`)));
    [Q1, Q2].forEach((row, t) => row.forEach((v, i) => close(q[0][t][i], v, `q[${t}][${i}]`)));
  });

  it('forward and reverse KL equal the hand-computed values, token-weighted', () => {
    close(value(new ForwardKlLoss({ weight: 1 }).compute(inputs())), (kl(P1, Q1) + kl(P2, Q2)) / 2, 'FKL');
    close(value(new ReverseKlLoss({ weight: 1 }).compute(inputs())), (kl(Q1, P1) + kl(Q2, P2)) / 2, 'RKL');
    close(
      value(new ForwardKlLoss({ weight: 1 }).compute(inputs([3, 1]))),
      (3 * kl(P1, Q1) + kl(P2, Q2)) / 4,
      'weighted FKL',
    );
  });

  it('AKL splits head and tail as specified and mixes FKL/RKL by the gaps', () => {
    const { logP, logQ } = bucketLogProbs(inputs());
    const { head, tail } = aklGaps(logP, logQ, 0.5);
    // token 1: cum p = [0.5, 0.8, 1.0] → head = {0}: g_head = 0.1, g_tail = 0.1 + 0 = 0.1
    // token 2: cum p = [0.7, …] > 0.5 → empty head: g_head = 0, g_tail = 0.1 + 0 + 0.1 = 0.2
    const h = head.dataSync(),
      t = tail.dataSync();
    close(h[0], 0.1, 'g_head 1');
    close(t[0], 0.1, 'g_tail 1');
    close(h[1], 0, 'g_head 2');
    close(t[1], 0.2, 'g_tail 2');
    const want = (0.5 * kl(P1, Q1) + 0.5 * kl(Q1, P1) + kl(Q2, P2)) / 2;
    close(value(new AdaptiveKlLoss({ weight: 1, headMass: 0.5 }).compute(inputs())), want, 'AKL');
    // a larger head mass moves token 2's top bucket into the head
    const wide = aklGaps(logP, logQ, 0.75);
    close(wide.head.dataSync()[1], 0.1, 'g_head 2 at 0.75');
  });

  it('AKL does not differentiate through its mixing coefficients (q detached)', () => {
    const x = inputs();
    // Token 1's buckets: p [0.5, 0.3, 0.2], q [0.2, 0.2, 0.6] (head gap 0.3, tail gaps of both signs), so the
    // coefficients' own gradient is not zero and FKL ≠ RKL: a gradient through them would show (by 2.8e-3).
    const logits = () => tf.tensor3d([[[0.2, 0.2, 0.5, 0.1].map(Math.log), q2.map(Math.log)]]);
    const student = (logits: tf.Tensor) => tokensFromLogits(logits as tf.Tensor3D, x.labels, x.targets!.ids);
    const buckets = (logits: tf.Tensor) => bucketLogProbs({ ...x, student: student(logits) });
    // The mix with its coefficients as given functions of the buckets.
    const mixed =
      (coefficients: (logP: tf.Tensor3D, logQ: tf.Tensor3D) => { head: tf.Tensor; tail: tf.Tensor }) =>
      (logits: tf.Tensor) => {
        const { logP, logQ } = buckets(logits);
        const { head, tail } = coefficients(logP, logQ);
        const z = tf.add(head, tail);
        const perToken = tf.add(
          tf.mul(tf.div(head, z), klPerToken(logP, logQ)),
          tf.mul(tf.div(tail, z), klPerToken(logQ, logP)),
        );
        return weightedMean(perToken as tf.Tensor2D, x.tokenWeights, tf);
      };
    const akl = tf.grad((logits: tf.Tensor) =>
      new AdaptiveKlLoss({ weight: 1, headMass: 0.5 }).compute({ ...x, student: student(logits) }),
    );
    const gaps = aklGaps(buckets(logits()).logP, buckets(logits()).logQ, 0.5);
    const constant = tf.grad(mixed(() => gaps))(logits());
    // The same gaps computed from q on the tape: what a missing detach would differentiate.
    const onTape = tf.grad(
      mixed((logP, logQ) => {
        const gap = tf.abs(tf.sub(tf.exp(logP), tf.exp(logQ)));
        const inHead = tf.tensor3d([
          [
            [1, 0, 0],
            [0, 0, 0],
          ],
        ]);
        return { head: tf.sum(tf.mul(gap, inHead), -1), tail: tf.sum(tf.mul(gap, tf.sub(1, inHead)), -1) };
      }),
    )(logits());
    const g = akl(logits());
    assert.ok(maxAbsDiff(g, constant) < 1e-6, 'AKL gradient = gradient with the coefficients held constant');
    assert.ok(maxAbsDiff(onTape, constant) > 1e-3, 'the check tells the two apart');
  });

  it('cross-entropy on labels, with label smoothing', () => {
    close(
      value(new CrossEntropyLoss({ weight: 1, labelSmoothing: 0 }).compute(inputs())),
      -(Math.log(0.4) + Math.log(0.6)) / 2,
      'CE',
    );
    const eps = 0.1;
    const smooth = (q: number[], label: number) =>
      -q.reduce((s, qi, i) => s + ((i === label ? 1 - eps : 0) + eps / 4) * Math.log(qi), 0);
    close(
      value(new CrossEntropyLoss({ weight: 1, labelSmoothing: eps }).compute(inputs())),
      (smooth(q1, 1) + smooth(q2, 2)) / 2,
      'smoothed CE',
    );
  });

  it('weightings: uniform = active; teacher entropy = 1 + β·H/log V', () => {
    const x = inputs();
    assert.deepEqual(Array.from(new UniformWeighting().weights(tf.tensor2d([[1, 0]])).dataSync()), [1, 0]);
    const w = new TeacherEntropyWeighting({ beta: 2 }).weights(tf.tensor2d([[1, 1]]), x.targets, 4).dataSync();
    close(w[0], 1 + (2 * 1.0) / Math.log(4), 'w1');
    close(w[1], 1 + (2 * 0.5) / Math.log(4), 'w2');
    assert.equal(
      new TeacherEntropyWeighting({ beta: 2 }).weights(tf.tensor2d([[0, 1]]), x.targets, 4).dataSync()[0],
      0,
    );
  });
});
