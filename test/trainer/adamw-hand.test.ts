import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { activeAddon, fusedAdamW, loadAddon } from '@e3/native';
import { AdamW } from '@e3/plugins';
import { skipBecause } from '../helpers/skip.js';
import { useBackend } from '../helpers/tf.js';

/*
 * Two AdamW steps worked out by hand, so a mistake shared by every path (the tfjs ops, the fused
 * kernel's JS loop, the C++ loop) cannot pass: adamw-clip.test.ts only holds the paths to each other.
 * β1 = 0.9, β2 = 0.999, ε = 1e-8, lr = 0.1, weight decay λ = 0.01 on matrices (not on the bias).
 *   m_t = β1·m + (1 − β1)·g;  v_t = β2·v + (1 − β2)·g²;  bc1 = 1 − β1^t;  bc2 = 1 − β2^t
 *   w_t = w·(1 − lr·λ) − lr·(m_t/bc1) / (√(v_t/bc2) + ε)
 * Step 1: bc1 = 0.1, bc2 = 0.001. Step 2: bc1 = 1 − 0.81 = 0.19, bc2 = 1 − 0.998001 = 0.001999.
 *
 * W[0][0] = 1, g = 2 then −1:
 *   1: m = 0.2, v = 0.001·4 = 0.004; m̂ = 2, √v̂ = √4 = 2; step = 2/(2 + 1e-8) = 1 − 5e-9
 *      w = 1·0.999 − 0.1·(1 − 5e-9) = 0.899 + 5e-10 = 0.8990000005
 *   2: m = 0.18 − 0.1 = 0.08, v = 0.003996 + 0.001 = 0.004996; m̂ = 0.08/0.19 = 0.4210526,
 *      v̂ = 0.004996/0.001999 = 2.4992496, √v̂ = 1.5809015; step = 0.2663370
 *      w = 0.8990000005·0.999 − 0.0266337 = 0.8981010 − 0.0266337 = 0.8714673
 * W[0][1] = −2, g = −0.5 twice (a constant gradient: m̂ = g, √v̂ = |g|, each step is −1·lr):
 *   1: w = −2·0.999 + 0.1 = −1.898;  2: w = −1.898·0.999 + 0.1 = −1.896102 + 0.1 = −1.796102
 * W[1][0] = 0.5, g = 0 then 0.3 (step 1 is decay alone: m = v = 0, 0/(0 + ε) = 0):
 *   1: w = 0.5·0.999 = 0.4995
 *   2: m = 0.03, v = 0.001·0.09 = 9e-5; m̂ = 0.1578947, v̂ = 0.0450225, √v̂ = 0.2121851; step = 0.7441368
 *      w = 0.4995·0.999 − 0.0744137 = 0.4990005 − 0.0744137 = 0.4245868
 * W[1][1] = 3, g = 4 twice: 1: w = 2.997 − 0.1 = 2.897;  2: w = 2.897·0.999 − 0.1 = 2.794103
 * b[0] = 1 (no decay), g = 0.1 then 0.2:
 *   1: w = 1 − 0.1·(1 − 1e-7) = 0.90000001 (ε against √v̂ = 0.1)
 *   2: m = 0.029, v = 4.999e-5; m̂ = 0.1526316, √v̂ = √0.0250075 = 0.1581376; step = 0.9651820
 *      w = 0.9000000 − 0.0965182 = 0.8034818
 * b[1] = −1, g = −3 then 1:
 *   1: w = −1 + 0.1·(1 − 3.3e-9) = −0.9000000003
 *   2: m = −0.27 + 0.1 = −0.17, v = 0.008991 + 0.001 = 0.009991; m̂ = −0.8947368, √v̂ = √4.9979990 = 2.2356205
 *      w = −0.9 + 0.1·0.4002186 = −0.8599781
 */
const OPTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
const LR = 0.1;
const W0 = [1, -2, 0.5, 3];
const B0 = [1, -1];
const GRADS = [
  { w: [2, -0.5, 0, 4], b: [0.1, -3] },
  { w: [-1, -0.5, 0.3, 4], b: [0.2, 1] },
];
/** After each step: the weights, the moments m and v (float64 of the arithmetic above). */
const EXPECTED = [
  {
    w: [0.8990000005, -1.898000002, 0.4995, 2.89700000025],
    b: [0.90000001, -0.9000000003333333],
    m: [0.2, -0.05, 0, 0.4],
    v: [0.004, 0.00025, 0, 0.016],
  },
  {
    w: [0.8714672967019315, -1.796102003998, 0.4245868211503192, 2.7941030004997507],
    b: [0.803481813521253, -0.8599781433169098],
    m: [0.08, -0.095, 0.03, 0.76],
    v: [0.004996, 0.00049975, 0.00009, 0.031984],
  },
];
/**
 * float32 weights of magnitude ≤ 3 after two steps: a few ulps. The moments, small numbers, are held
 * to 1e-6 of their value (a few float32 roundings): v = 0.004 off by 1.3e-5 of itself is (1 − β2)
 * rounded to float32 before the subtraction (0.000999987).
 */
const TOL = 2e-6;
const MOMENT_TOL = 1e-6;

function assertClose(actual: ArrayLike<number>, expected: readonly number[], what: string, relative = false): void {
  expected.forEach((e, i) => {
    const tol = relative ? MOMENT_TOL * Math.abs(e) + 1e-12 : TOL * Math.max(1, Math.abs(e));
    assert.ok(Math.abs(actual[i] - e) <= tol, `${what}[${i}] = ${actual[i]}, by hand ${e} (± ${tol.toPrecision(2)})`);
  });
}

/** Two steps of the trainer's AdamW on the current backend, checked against the hand values after each. */
function twoHandSteps(): void {
  const w = tf.variable(tf.tensor2d(W0, [2, 2]));
  const b = tf.variable(tf.tensor1d(B0));
  const opt = new AdamW([w, b], OPTS);
  GRADS.forEach((g, step) => {
    const grads = [tf.tensor2d(g.w, [2, 2]), tf.tensor1d(g.b)];
    opt.apply(grads, LR);
    tf.dispose(grads);
    const want = EXPECTED[step];
    assertClose(w.dataSync(), want.w, `step ${step + 1} W`);
    assertClose(b.dataSync(), want.b, `step ${step + 1} bias (not decayed)`);
    assertClose(opt.m[0].dataSync(), want.m, `step ${step + 1} m`, true);
    assertClose(opt.v[0].dataSync(), want.v, `step ${step + 1} v`, true);
  });
  tf.dispose([w, b]);
  opt.dispose();
}

describe('AdamW: two steps against values worked out by hand, on every path', () => {
  it('tfjs ops (cpu, op by op)', async () => {
    await useBackend('cpu');
    assert.equal(fusedAdamW(), false);
    twoHandSteps();
  });

  it("the fused E3AdamW kernel's JS loop (wasm, no addon)", async () => {
    await useBackend('wasm', { native: false });
    assert.equal(fusedAdamW(), true);
    assert.equal(activeAddon(), undefined);
    twoHandSteps();
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`the fused E3AdamW kernel on the C++ addon (${backend})`, async function () {
      if (!loadAddon()) skipBecause(this, 'the native addon is not built here (native/build.js)');
      await useBackend(backend, { native: true });
      assert.ok(fusedAdamW() && activeAddon());
      twoHandSteps();
    });
  }

  it('the C++ adamw entry point, called directly, with decay and a gradient scale', function () {
    const addon = loadAddon();
    if (!addon) skipBecause(this, 'the native addon is not built here (native/build.js)');
    const w = Float32Array.from(W0);
    const [m, v] = [new Float32Array(4), new Float32Array(4)];
    GRADS.forEach((g, step) => {
      const t = step + 1;
      // gradScale 0.5 on twice the gradient is the same step (global-norm clipping folded in).
      const doubled = Float32Array.from(g.w, (x) => 2 * x);
      addon.adamw(w, doubled, m, v, w, m, v, LR, 0.9, 0.999, 1e-8, 0.01, 1 - 0.9 ** t, 1 - 0.999 ** t, 0.5);
      assertClose(w, EXPECTED[step].w, `step ${t} W`);
      assertClose(m, EXPECTED[step].m, `step ${t} m`, true);
      assertClose(v, EXPECTED[step].v, `step ${t} v`, true);
    });
  });
});
