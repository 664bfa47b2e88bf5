import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { headKl, headPick, headPickGrad, headTopK, loadAddon, nativeHeadRows } from '@e3/native';
import { Rng } from '@e3/core';
import { useBackend } from '../helpers/tf.js';
import { NO_ADDON, skipBecause } from '../helpers/skip.js';

const V = 151_936,
  ROWS = 3,
  M = 5;

/** log Σ exp, in float64. */
function lse(row: Float32Array): number {
  let m = -Infinity;
  for (const x of row) m = Math.max(m, x);
  let s = 0;
  for (const x of row) s += Math.exp(x - m);
  return m + Math.log(s);
}

describe('native output-head row kernels against float64 (V = 151,936)', function () {
  this.timeout(60_000);
  let z: Float32Array[], zq: Float32Array[];
  let logits: tf.Tensor2D, other: tf.Tensor2D;
  const cols = [
    [1, 5, 5, 100, 0],
    [7, V - 1, 3, 3, 2],
    [0, 0, 0, 1, 9],
  ];

  before(async function () {
    if (!loadAddon()) skipBecause(this, NO_ADDON);
    await useBackend('cpu', { native: true });
    assert.ok(nativeHeadRows());
    const rng = new Rng(3);
    z = Array.from({ length: ROWS }, () => Float32Array.from({ length: V }, () => 3 * rng.normal()));
    zq = z.map((row) => row.map((x) => x + 0.5 * rng.normal()));
    z[1][77] = 40; // one dominant logit
    logits = tf.tensor2d(
      z.flatMap((r) => Array.from(r)),
      [ROWS, V],
    );
    other = tf.tensor2d(
      zq.flatMap((r) => Array.from(r)),
      [ROWS, V],
    );
  });

  after(() => {
    tf.dispose([logits, other]);
  });

  it('top-k ids and log-probabilities (descending, ties by lower id) and the entropy', () => {
    const y = z.map((row) => row.slice());
    y[2][10] = y[2][11] = 50; // a tie at the top
    const t = tf.tensor2d(
      y.flatMap((r) => Array.from(r)),
      [ROWS, V],
    );
    const r = headTopK(t, 4);
    const ids = r.ids.arraySync(),
      lp = r.logProbs.arraySync(),
      ent = r.entropy.arraySync();
    for (let i = 0; i < ROWS; i++) {
      const l = lse(y[i]);
      const order = Array.from(y[i].keys())
        .sort((a, b) => y[i][b] - y[i][a] || a - b)
        .slice(0, 4);
      assert.deepEqual(ids[i], order);
      order.forEach((j, n) =>
        assert.ok(Math.abs(lp[i][n] - (y[i][j] - l)) < 1e-5, `row ${i} #${n}: ${lp[i][n]} vs ${y[i][j] - l}`),
      );
      let h = 0;
      for (const x of y[i]) h -= Math.exp(x - l) * (x - l);
      assert.ok(Math.abs(ent[i] - h) < 1e-4 * Math.max(1, h), `entropy ${ent[i]} vs ${h}`);
    }
    assert.deepEqual(ids[2].slice(0, 2), [10, 11]);
    tf.dispose([t, r.ids, r.logProbs, r.entropy]);
  });

  it('picked log-probabilities with the mean, and their gradient to the logits', () => {
    const c = tf.tensor2d(cols, undefined, 'int32');
    const g = [
      [0.3, -1, 2, 0.5, 1, 0.7],
      [1, 1, 1, 1, 1, -2],
      [0.1, 0.2, 0.3, 0.4, 0.5, 3],
    ];
    const out = headPick(logits, c).arraySync();
    const dz = headPickGrad(logits, c, tf.tensor2d(g)).dataSync();
    let worst = 0;
    for (let i = 0; i < ROWS; i++) {
      const l = lse(z[i]);
      cols[i].forEach((j, n) => assert.ok(Math.abs(out[i][n] - (z[i][j] - l)) < 1e-5, `pick ${i} ${n}`));
      const mean = z[i].reduce((a, b) => a + b, 0) / V - l;
      assert.ok(Math.abs(out[i][M] - mean) < 1e-5, `mean ${out[i][M]} vs ${mean}`);
      const total = g[i].reduce((a, b) => a + b, 0);
      for (let j = 0; j < V; j++) {
        let ref = g[i][M] / V - Math.exp(z[i][j] - l) * total;
        cols[i].forEach((col, n) => {
          if (col === j) ref += g[i][n];
        });
        worst = Math.max(worst, Math.abs(dz[i * V + j] - ref));
      }
    }
    assert.ok(worst < 1e-6, `gradient off by ${worst}`);
    c.dispose();
  });

  it('KL between two rows of logits', () => {
    const kl = headKl(logits, other).arraySync();
    for (let i = 0; i < ROWS; i++) {
      const lp = lse(z[i]),
        lq = lse(zq[i]);
      let ref = 0;
      for (let j = 0; j < V; j++) ref += Math.exp(z[i][j] - lp) * (z[i][j] - lp - (zq[i][j] - lq));
      assert.ok(Math.abs(kl[i] - ref) < 1e-4 * Math.max(1, ref), `KL ${kl[i]} vs ${ref}`);
    }
  });

  it('an id outside the vocabulary is a located error, not a write past the row', () => {
    const bad = tf.tensor2d(
      [
        [1, 2, 3, 4, V],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
      ],
      undefined,
      'int32',
    );
    assert.throws(() => headPick(logits, bad), /headPick: id 151936 is not in \[0, V\)/);
    bad.dispose();
  });
});
