import { strict as assert } from 'node:assert';
import { loadAddon, type BlockDims } from '@e3/native';
import { NO_ADDON, skipBecause } from '../helpers/skip.js';

const dims: BlockDims = { B: 1, T: 2, P: 0, D: 8, H: 2, KV: 1, hd: 4, F: 12, eps: 1e-6 };
const zeros = (n: number) => new Float32Array(n);

/** Every tensor a forward call of `d` reads and writes, sized right. */
function blockTensors(d: BlockDims) {
  const N = d.B * d.T,
    Q = d.H * d.hd,
    K = d.KV * d.hd;
  const tensors: Record<string, Float32Array> = {
    inputNorm: zeros(d.D),
    postAttentionNorm: zeros(d.D),
    q: zeros(Q * d.D),
    k: zeros(K * d.D),
    v: zeros(K * d.D),
    o: zeros(d.D * Q),
    gate: zeros(d.F * d.D),
    up: zeros(d.F * d.D),
    down: zeros(d.D * d.F),
    x: zeros(N * d.D),
    blockGate: zeros(1),
    cos: zeros(N * d.hd),
    sin: zeros(N * d.hd),
    attn: zeros(d.B * d.T),
  };
  return { tensors, outputs: { y: zeros(N * d.D) } as Record<string, Float32Array> };
}

describe('native addon: every buffer length is checked', function () {
  before(function () {
    if (!loadAddon()) skipBecause(this, NO_ADDON);
  });

  it('sgemmBatched names the operand whose length does not match m, n, k', () => {
    const addon = loadAddon()!;
    addon.sgemmBatched(zeros(6), zeros(6), zeros(4), 1, 2, 2, 3, false, false, 0, 0);
    assert.throws(
      () => addon.sgemmBatched(zeros(6), zeros(6), zeros(3), 1, 2, 2, 3, false, false, 0, 0),
      (e: Error) =>
        e instanceof RangeError &&
        /sgemmBatched: tensor out has 3 floats, expected 4 \(batch=1 m=2 n=2 k=3\)/.test(e.message),
    );
    assert.throws(
      () => addon.sgemmBatched(zeros(6), zeros(6), zeros(8), 2, 2, 2, 3, false, false, 6, 0),
      /tensor a has 6 floats, expected 12/,
    );
    assert.throws(
      () => addon.sgemmBatched(zeros(6), zeros(6), zeros(4), 1, 2, 2, 3, false, false, 5, 0),
      /strides must be/,
    );
  });

  it('adamw refuses moments of another length than the weight', () => {
    const addon = loadAddon()!;
    const ok = [zeros(5), zeros(5), zeros(5), zeros(5), zeros(5), zeros(5), zeros(5)] as const;
    addon.adamw(...ok, 0.1, 0.9, 0.99, 1e-8, 0, 1, 1);
    assert.throws(
      () =>
        addon.adamw(
          zeros(5),
          zeros(5),
          zeros(4),
          zeros(5),
          zeros(5),
          zeros(5),
          zeros(5),
          0.1,
          0.9,
          0.99,
          1e-8,
          0,
          1,
          1,
        ),
      /adamw: tensor m has 4 floats, expected 5 \(parameter of 5 floats\)/,
    );
  });

  it('the decoder block names the tensor, its length, the expected one and the dims', () => {
    const addon = loadAddon()!;
    const { tensors, outputs } = blockTensors(dims);
    addon.decoderBlockForward(dims, tensors, outputs);
    assert.throws(
      () => addon.decoderBlockForward(dims, { ...tensors, q: zeros(7) }, outputs),
      /decoderBlockForward: tensor q has 7 floats, expected 64 \(dims B=1 T=2 P=0 D=8 H=2 KV=1 hd=4 F=12\)/,
    );
    assert.throws(
      () => addon.decoderBlockForward(dims, tensors, { y: zeros(15) }),
      /tensor y has 15 floats, expected 16/,
    );
    const { down: _, ...noDown } = tensors;
    assert.throws(() => addon.decoderBlockForward(dims, noDown, outputs), /tensor down is missing/);
    assert.throws(() => addon.decoderBlockForward(dims, { ...tensors, qNorm: zeros(4) }, outputs), /qNorm and kNorm/);
    assert.throws(() => addon.decoderBlockForward({ ...dims, KV: 3 }, tensors, outputs), /H must be a multiple of KV/);
    assert.throws(
      () => addon.decoderBlockForward(dims, tensors, { ...outputs, saved: zeros(3) }),
      /tensor saved has 3 floats/,
    );
  });

  it('backward and weight gradients check their buffers too', () => {
    const addon = loadAddon()!;
    const { tensors } = blockTensors(dims);
    const { saved, upstream } = addon.decoderBlockSizes(dims);
    const inputs = { ...tensors, saved: zeros(saved), dy: zeros(16) };
    const outs = { dx: zeros(16), dgate: zeros(1), upstream: zeros(upstream) };
    addon.decoderBlockBackward(dims, inputs, outs);
    assert.throws(
      () => addon.decoderBlockBackward(dims, inputs, { ...outs, upstream: zeros(upstream - 1) }),
      /decoderBlockBackward: tensor upstream has/,
    );
    const wg = { x: tensors.x, saved: inputs.saved, upstream: outs.upstream };
    addon.decoderBlockWeightGradient(dims, wg, 'gate', zeros(96));
    assert.throws(
      () => addon.decoderBlockWeightGradient(dims, wg, 'gate', zeros(95)),
      /tensor out has 95 floats, expected 96/,
    );
    assert.throws(() => addon.decoderBlockWeightGradient(dims, wg, 'nope', zeros(96)), /unknown weight nope/);
  });
});
