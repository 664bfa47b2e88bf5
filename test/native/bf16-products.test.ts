import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint } from '@e3/plugins';
import { choosePrecision, loadAddon, type NativeAddon } from '@e3/native';
import { ROOT } from '../helpers/files.js';
import { useBackend } from '../helpers/tf.js';
import { wideBlockCheckpoint } from '../helpers/wide-block.js';
import { NO_ADDON, skipBecause } from '../helpers/skip.js';

/**
 * bf16 products (native/cc/gemm.cc, onednn_matmul.cc) held to bounds derived from bf16's format.
 *
 * bf16 keeps 8 significant bits (7 stored + the implicit one), so rounding to nearest gives a relative
 * error of at most u = 2⁻⁸ per input. A product term ã·b̃ = a(1+δ₁)·b(1+δ₂) is off by at most
 * (2u + u²)|a·b|, and k such terms summed in f32 add at most γₖ = k·2⁻²⁴/(1 − k·2⁻²⁴) of Σ|ã·b̃|:
 *   |C − A·B| ≤ (2u + u² + γₖ(1 + u)²) · (|A|·|B|)   element by element, against the exact product, and
 *   |C − Ã·B̃| ≤ γₖ · (|Ã|·|B̃|)                       against the exact product of the bf16-rounded inputs,
 * which pins both the rounding (to nearest even, as `roundBf16` below) and the f32 accumulation:
 * truncating the inputs or accumulating in bf16 breaks the second bound by orders of magnitude.
 */
const U = 2 ** -8;
const gamma = (k: number) => (k * 2 ** -24) / (1 - k * 2 ** -24);

/** x rounded to bf16 (nearest, ties to even), computed here independently of the addon. */
function roundBf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  u[0] = ((u[0] + 0x7fff + ((u[0] >>> 16) & 1)) >>> 16) << 16;
  return f[0];
}

/** Values spread over four orders of magnitude, both signs (the rounding's relative error is what counts). */
function values(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 10 ** ((i % 5) - 2));
}

/** Row-major element (r, c) of op(x), x stored [rows, cols] or transposed. */
const at = (x: Float32Array, r: number, c: number, ld: number, trans: boolean) =>
  trans ? x[c * ld + r] : x[r * ld + c];

interface Bounds {
  /** max over elements of |C − exact| / bound (≤ 1 passes), and the same against the rounded inputs. */
  exact: number;
  rounded: number;
  /** max |C − exact| / (|A|·|B|): how far from an f32 product the result is. */
  relative: number;
}

/** C = op(A)·op(B) (+ C when beta) through sgemmBatched, measured against both bounds in float64. */
function measure(
  addon: NativeAddon,
  m: number,
  n: number,
  k: number,
  ta: boolean,
  tb: boolean,
  copies = false,
): Bounds {
  const a = values(m * k, 1),
    b = values(k * n, 2);
  const c0 = values(m * n, 3);
  const c = Float32Array.from(c0);
  const round = (x: Float32Array) => Float32Array.from(x, roundBf16);
  const [ar, br] = [round(a), round(b)];
  const bf16 = (x: Float32Array) => {
    const out = new Uint16Array(x.length);
    addon.toBf16(x, out);
    return out;
  };
  const [a16, b16] = copies ? [bf16(a), bf16(b)] : [undefined, undefined];
  addon.sgemmBatched(a, b, c, 1, m, n, k, ta, tb, 0, 0, 1, a16, b16);
  const out: Bounds = { exact: 0, rounded: 0, relative: 0 };
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let exact = c0[i * n + j],
        rounded = c0[i * n + j],
        scale = Math.abs(c0[i * n + j]),
        scaleR = scale;
      for (let p = 0; p < k; p++) {
        const [x, y] = [at(a, i, p, ta ? m : k, ta), at(b, p, j, tb ? k : n, tb)];
        const [xr, yr] = [at(ar, i, p, ta ? m : k, ta), at(br, p, j, tb ? k : n, tb)];
        exact += x * y;
        rounded += xr * yr;
        scale += Math.abs(x * y);
        scaleR += Math.abs(xr * yr);
      }
      const got = c[i * n + j];
      // +1 term: the beta·C addition is one more f32 rounding of the sum.
      out.exact = Math.max(out.exact, Math.abs(got - exact) / ((2 * U + U * U + gamma(k + 1) * (1 + U) ** 2) * scale));
      out.rounded = Math.max(out.rounded, Math.abs(got - rounded) / (gamma(k + 1) * scaleR));
      out.relative = Math.max(out.relative, Math.abs(got - exact) / scale);
    }
  return out;
}

describe('bf16 matrix products (oneDNN) against bounds from bf16 rounding', function () {
  this.timeout(120_000);
  let addon: NativeAddon;
  before(function () {
    const a = loadAddon();
    if (!a || choosePrecision('bf16', a).used === 'f32')
      skipBecause(
        this,
        'the native addon is not built, or this CPU has no bf16 products (choosePrecision falls back to f32)',
      );
    addon = a!;
  });
  after(async () => useBackend('wasm')); // the precision enableNativeKernels chose again

  for (const [ta, tb] of [
    [false, false],
    [false, true],
    [true, false],
  ] as const) {
    it(`bf16 [48×320]·[320×40] (transA ${ta}, transB ${tb}, accumulating): within both bounds, and not f32`, () => {
      addon.setPrecision('bf16');
      const r = measure(addon, 48, 40, 320, ta, tb);
      assert.ok(r.exact <= 1, `|C − A·B| reaches ${r.exact.toFixed(3)} of the bf16 bound`);
      assert.ok(r.rounded <= 1, `|C − Ã·B̃| reaches ${r.rounded.toFixed(3)} of the f32-accumulation bound`);
      // An f32 product would stay within γₖ ≈ 2e-5; bf16 rounding shows as ~u/10 on some element.
      assert.ok(r.relative > 16 * gamma(321), `relative error ${r.relative}: the product did not run in bf16`);
    });
  }

  it('bf16 copies handed in (a weight rounded once) give the same product as rounding in passing', () => {
    addon.setPrecision('bf16');
    const r = measure(addon, 32, 24, 160, false, true, true);
    assert.ok(r.rounded <= 1 && r.exact <= 1, JSON.stringify(r));
  });

  it('f32 and auto (a product below its size threshold) stay within the f32 bound γₖ', () => {
    for (const p of ['f32', 'auto'] as const) {
      addon.setPrecision(p);
      const r = measure(addon, 16, 16, 64, false, false);
      assert.ok(r.relative <= gamma(65), `${p}: relative error ${r.relative}`);
    }
  });
});

describe('the fused AdamW and bf16 copies (with or without oneDNN)', () => {
  let addon: NativeAddon;
  before(function () {
    const a = loadAddon();
    if (!a) skipBecause(this, NO_ADDON);
    addon = a!;
  });

  it('AdamW writes the new weight’s bf16 copy in its pass: equal to rounding it afterwards', () => {
    const n = 70_000; // past the two-thread split, with a partial last block
    const w = values(n, 4),
      g = values(n, 5);
    const [m, v] = [new Float32Array(n), new Float32Array(n).fill(1e-4)];
    const [wo, mo, vo] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
    const copy = new Uint16Array(n);
    addon.adamw(w, g, m, v, wo, mo, vo, 1e-2, 0.9, 0.999, 1e-8, 0.01, 0.1, 0.001, 0.5, copy);
    const expected = new Uint16Array(n);
    addon.toBf16(wo, expected);
    assert.ok(
      wo.some((x, i) => x !== w[i]),
      'the weights did not change',
    );
    const wrong = expected.findIndex((x, i) => x !== copy[i]);
    assert.equal(wrong, -1, `copy[${wrong}] = ${copy[wrong]}, expected ${expected[wrong]}`);
  });
});

/** Loss and every gradient of the checkpoint in `dir` (B × T tokens) through the fused blocks. */
async function lossAndGradients(
  precision: 'bf16' | 'f32' | 'auto',
  dir = join(ROOT, 'test/fixtures/tiny-qwen3'),
  [B, T] = [4, 48],
  threads = 2,
) {
  await useBackend('wasm', { precision, threads });
  const h = await loadCheckpoint(dir);
  const V = h.model.config.vocabSize;
  const ids = tf.tensor2d(
    Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => ((t * 7 + b * 3) % (V - 1)) + 1)),
    undefined,
    'int32',
  );
  // Non-negative weights: the loss is a sum without cancellation, so a relative bound on it means something.
  const weights = tf.tensor3d(
    Array.from({ length: B * T * V }, (_, i) => 0.5 + 0.5 * Math.sin(i * 0.37)),
    [B, T, V],
  );
  const vars = h.model.variables();
  const { value, grads } = tf.variableGrads(
    () => tf.mean(tf.mul(tf.logSoftmax(h.model.forward(ids).logits), weights)) as tf.Scalar,
    vars,
  );
  const names = [...h.model.named().keys()];
  const out = { loss: (await value.data())[0], grads: new Map<string, Float32Array>() };
  for (let i = 0; i < vars.length; i++) out.grads.set(names[i], (await grads[vars[i].name].data()) as Float32Array);
  [value, ids, weights, ...Object.values(grads)].forEach((t) => t.dispose());
  h.dispose();
  return out;
}

const norm = (x: Float32Array, y?: Float32Array) => Math.sqrt(x.reduce((s, v, i) => s + (v - (y ? y[i] : 0)) ** 2, 0));

describe('fused decoder blocks in bf16 against f32 (tiny-qwen3, 4 layers, attention by products)', function () {
  this.timeout(120_000);
  before(async function () {
    const addon = loadAddon();
    if (!addon || choosePrecision('bf16', addon).used === 'f32')
      skipBecause(
        this,
        'the native addon is not built, or this CPU has no bf16 products (choosePrecision falls back to f32)',
      );
  });
  after(async () => useBackend('wasm'));

  /**
   * Tolerance: each bf16 product is off by at most 2u (+ f32 terms) of Σ|a·b| (above), and errors of
   * products in series add to first order. The longest chain to a gradient of the first layer: forward
   * 6 products per block in series (q/k/v, QKᵀ, PV, o, gate/up, down) × 4 blocks + the head, then the
   * same back and one weight-gradient product: P = 2·(6·4 + 1) + 1 = 51, so ‖Δ‖ ≤ 51·2u = 0.40 of the
   * gradient's scale, and 25·2u = 0.20 for the loss (forward only). Bounds, not estimates: measured
   * gaps were 2e-4 (loss) and 0.5–2.2% (gradients), and a product that drops its scale (alpha) fails.
   */
  it('loss and every gradient within the bound from bf16 rounding, and not equal to f32', async () => {
    const f32 = await lossAndGradients('f32');
    const bf16 = await lossAndGradients('bf16');
    const lossBound = 25 * 2 * U;
    assert.ok(
      Math.abs(bf16.loss - f32.loss) <= lossBound * Math.abs(f32.loss),
      `loss ${bf16.loss} vs ${f32.loss} (bound ${lossBound} relative)`,
    );
    let differs = false;
    for (const [name, g] of f32.grads) {
      const b = bf16.grads.get(name)!;
      const rel = norm(b, g) / norm(g);
      assert.ok(norm(g) > 0, `${name}: f32 gradient is zero (the test could not fail)`);
      assert.ok(rel <= 51 * 2 * U, `${name}: ‖bf16 − f32‖ / ‖f32‖ = ${rel.toFixed(4)} (bound ${51 * 2 * U})`);
      differs ||= rel > 1e-4;
    }
    assert.ok(differs, 'bf16 gradients equal f32 ones: the products did not run in bf16');
  });
});

describe('auto decides once per call: splitting a block over threads cannot change its precision', function () {
  this.timeout(180_000);
  before(async function () {
    const addon = loadAddon();
    if (!addon || choosePrecision('auto', addon).used !== 'bf16-large')
      skipBecause(this, 'precision auto does not choose bf16 for large products here (no addon, or no bf16 products)');
  });
  after(async () => useBackend('wasm'));

  /**
   * d = 512, ffn 2,560 (18.9 MB of weights: each projection split by features over the two threads),
   * 2 × 16 tokens: the block's largest product is 32·512·2560 = 40Mi multiply-adds, past auto's 32Mi,
   * while each thread's half (20Mi) is below it. Decided per half, two threads would compute in f32
   * what one thread computes in bf16.
   */
  it('one thread and two give the same loss and gradients in auto, and they are bf16 ones', async () => {
    const dir = await wideBlockCheckpoint('wide-block-bf16');
    const one = await lossAndGradients('auto', dir, [2, 16], 1);
    const two = await lossAndGradients('auto', dir, [2, 16], 2);
    const f32 = await lossAndGradients('f32', dir, [2, 16], 2);
    assert.equal(two.loss, one.loss);
    for (const [name, g] of one.grads)
      assert.equal(norm(two.grads.get(name)!, g), 0, `${name} differs between threads`);
    const q = 'model.layers.0.self_attn.q_proj.weight';
    assert.ok(
      norm(one.grads.get(q)!, f32.grads.get(q)!) > 1e-4 * norm(f32.grads.get(q)!),
      'auto ran this block in f32',
    );
  });
});
