import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@e3/core';
import { exportCheckpoint, fusedBlocksAvailable, generateIds, loadCheckpoint, randomModel } from '@e3/plugins';
import { loadAddon } from '@e3/native';
import { ROOT, tempDir } from '../helpers/files.js';
import { useBackend } from '../helpers/tf.js';
import { wideBlockCheckpoint } from '../helpers/wide-block.js';
import { skipBecause } from '../helpers/skip.js';

const FIXTURES = ['tiny-llama', 'tiny-qwen2', 'tiny-qwen3'];

/** Loss, its gradients to every weight and to a layer-mask tensor, on one backend. */
async function lossAndGradients(
  dir: string,
  backend: 'cpu' | 'wasm',
  B: number,
  T: number,
  native = backend === 'wasm',
) {
  await useBackend(backend, { native });
  assert.equal(fusedBlocksAvailable(), native && loadAddon() !== undefined);
  const h = await loadCheckpoint(dir);
  const L = h.model.numLayers;
  const V = h.model.config.vocabSize;
  // Some sequences left-padded, so the padding mask matters.
  const pad = Array.from({ length: B }, (_, b) => (b % 3 === 1 ? Math.min(3 * b, T - 2) : 0));
  const ids = tf.tensor2d(
    Array.from({ length: B }, (_, b) =>
      Array.from({ length: T }, (_, t) => (t < pad[b] ? 0 : ((t * 7 + b * 3) % (V - 1)) + 1)),
    ),
    undefined,
    'int32',
  );
  const attentionMask = tf.tensor2d(
    Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (t < pad[b] ? 0 : 1))),
  );
  const weights = tf.tensor3d(
    Array.from({ length: B * T * V }, (_, i) => Math.sin(i * 0.37)),
    [B, T, V],
  );
  const mask = tf.variable(tf.tensor1d(Array.from({ length: L }, (_, l) => 0.6 + 0.1 * l)));
  const vars = [...h.model.variables(), mask];
  const { value, grads } = tf.variableGrads(() => {
    const logits = h.model.forward(ids, { attentionMask, mask }).logits;
    // A token-averaged loss, as the distiller's are.
    const active = tf.reshape(attentionMask, [B, T, 1]);
    return tf.div(tf.sum(tf.mul(tf.mul(tf.logSoftmax(logits), weights), active)), tf.sum(active)) as tf.Scalar;
  }, vars);
  const names = [...h.model.named().keys(), 'mask'];
  const out = { loss: (await value.data())[0], grads: new Map<string, Float32Array>() };
  for (let i = 0; i < vars.length; i++) out.grads.set(names[i], (await grads[vars[i].name].data()) as Float32Array);
  [value, ids, attentionMask, weights, mask, ...Object.values(grads)].forEach((t) => t.dispose());
  h.dispose();
  return out;
}

type LossAndGradients = Awaited<ReturnType<typeof lossAndGradients>>;

/**
 * The losses agree to 1e-4 (relative past 1) and every gradient within `absolute` and within 1e-3
 * of its own scale, and none is all zero (the comparison could not fail).
 */
function assertAgree(a: LossAndGradients, b: LossAndGradients, label: string, absolute = 1e-4): void {
  assert.ok(Math.abs(a.loss - b.loss) < 1e-4 * Math.max(1, Math.abs(a.loss)), `${label}: loss ${a.loss} vs ${b.loss}`);
  for (const [n, g] of a.grads) {
    const f = b.grads.get(n)!;
    let worst = 0,
      scale = 0;
    g.forEach((v, i) => {
      worst = Math.max(worst, Math.abs(v - f[i]));
      scale = Math.max(scale, Math.abs(v));
    });
    assert.ok(worst < absolute, `${label} ${n}: max difference ${worst}`);
    assert.ok(worst <= 1e-3 * scale, `${label} ${n}: max difference ${worst} against a gradient scale of ${scale}`);
    assert.ok(
      g.some((v) => v !== 0),
      `${label} ${n}: gradient is all zero (the test could not fail)`,
    );
  }
}

/**
 * A Llama checkpoint with every optional weight the fixtures lack: q/k/v and o biases
 * (`attention_bias`) and MLP biases (`mlp_bias`), all random, and norms away from 1.
 */
async function biasedLlama(): Promise<string> {
  await useBackend('cpu');
  const config = {
    model_type: 'llama',
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    max_position_embeddings: 64,
    tie_word_embeddings: false,
    attention_bias: true,
    mlp_bias: true,
    vocab_size: 40,
  };
  const rng = new Rng(5);
  const h = await randomModel({
    config,
    rng,
    std: 0.2,
    where: 'biased-llama',
    edit: (named) => {
      for (const [name, t] of named) {
        if (!name.endsWith('.bias') && !name.endsWith('norm.weight')) continue;
        named.set(
          name,
          tf.tensor(
            Array.from({ length: t.size }, () =>
              name.endsWith('.bias') ? 0.3 * rng.normal() : 1 + 0.2 * rng.normal(),
            ),
            t.shape,
          ),
        );
        t.dispose();
      }
    },
  });
  const dir = join(tempDir(), 'biased-llama');
  await exportCheckpoint(h, dir);
  h.dispose();
  return dir;
}

describe('fused decoder block (native, wasm) against the op-by-op decoder (cpu)', function () {
  this.timeout(60000);
  before(async function () {
    await useBackend('wasm');
    if (!fusedBlocksAvailable()) skipBecause(this, 'no fused blocks: the native addon is not built');
  });

  it('a Llama with attention and MLP biases: loss and every gradient agree to 1e-4', async () => {
    const dir = await biasedLlama();
    const cpu = await lossAndGradients(dir, 'cpu', 16, 48);
    const wasm = await lossAndGradients(dir, 'wasm', 16, 48);
    assert.ok(
      Math.abs(cpu.loss - wasm.loss) < 1e-4 * Math.max(1, Math.abs(cpu.loss)),
      `loss ${cpu.loss} vs ${wasm.loss}`,
    );
    for (const n of [
      'self_attn.o_proj.bias',
      'mlp.gate_proj.bias',
      'mlp.up_proj.bias',
      'mlp.down_proj.bias',
      'self_attn.q_proj.bias',
    ])
      assert.ok(cpu.grads.has(`model.layers.1.${n}`), `fixture lacks ${n}`);
    for (const [n, g] of cpu.grads) {
      const f = wasm.grads.get(n)!;
      let worst = 0;
      g.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(v - f[i]));
      });
      assert.ok(worst < 1e-4, `${n}: max difference ${worst}`);
    }
  });

  // 16 × 48: the block's phases split across two threads and attention runs as matrix products;
  // 3 × 7: one thread, attention loops.
  for (const [name, B, T] of FIXTURES.flatMap(
    (f) =>
      [
        [f, 16, 48],
        [f, 3, 7],
      ] as const,
  )) {
    it(`${name}, ${B} × ${T}: loss and the gradients of every weight and of the layer mask agree to 1e-4 (padded batch)`, async () => {
      const dir = join(ROOT, 'test/fixtures', name);
      const cpu = await lossAndGradients(dir, 'cpu', B, T);
      const wasm = await lossAndGradients(dir, 'wasm', B, T);
      // Within 1e-4 absolute (the bar), and within 1e-3 of the gradient's own scale.
      assertAgree(cpu, wasm, name);
    });
  }

  it('a block with ≥ 16 MB of weights splits each projection by features over the threads: same loss and gradients', async () => {
    const dir = await wideBlockCheckpoint('wide-block');
    const cpu = await lossAndGradients(dir, 'cpu', 4, 16);
    const fused = await lossAndGradients(dir, 'wasm', 4, 16);
    assertAgree(cpu, fused, 'd=512', Infinity);
  });

  it('on the cpu backend (host memory, no 4 GiB bound): the same fused kernels, the same loss and gradients', async () => {
    const dir = join(ROOT, 'test/fixtures/tiny-qwen3');
    const opByOp = await lossAndGradients(dir, 'cpu', 16, 48, false);
    const fused = await lossAndGradients(dir, 'cpu', 16, 48, true);
    assert.ok(Math.abs(opByOp.loss - fused.loss) < 1e-4, `loss ${opByOp.loss} vs ${fused.loss}`);
    for (const [n, g] of opByOp.grads) {
      const f = fused.grads.get(n)!;
      let worst = 0;
      g.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(v - f[i]));
      });
      assert.ok(worst < 1e-4, `${n}: max difference ${worst}`);
    }
  });

  it('runs as one kernel per block, forward and backward (and only asked-for weight gradients)', async () => {
    await useBackend('wasm');
    const h = await loadCheckpoint(join(ROOT, 'test/fixtures/tiny-qwen3'));
    const ids = tf.tensor2d([[3, 5, 7, 9]], undefined, 'int32');
    const mask = tf.variable(tf.ones([h.model.numLayers]));
    const profile = await tf.profile(() => {
      const { grads } = tf.variableGrads(
        () => tf.sum(h.model.forward(ids, { mask: mask as unknown as tf.Tensor1D }).logits) as tf.Scalar,
        [mask],
      );
      Object.values(grads).forEach((g) => g.dispose());
    });
    const count = (k: string) => profile.kernels.filter((x) => x.name === k).length;
    assert.equal(count('E3DecoderBlock'), h.model.numLayers);
    assert.equal(count('E3DecoderBlockGrad'), h.model.numLayers);
    assert.equal(count('E3DecoderBlockWeightGrad'), 0, 'the mask search must not compute weight gradients');
    ids.dispose();
    mask.dispose();
    h.dispose();
  });

  it('leaks no tensors or bytes over training steps (split batch, weight gradients) and decoding', async () => {
    await useBackend('wasm');
    const h = await loadCheckpoint(join(ROOT, 'test/fixtures/tiny-qwen3'));
    const ids = tf.tensor2d(
      Array.from({ length: 16 }, (_, b) => Array.from({ length: 48 }, (_, t) => ((t + b) % 40) + 1)),
      undefined,
      'int32',
    );
    const vars = h.model.variables();
    const step = () => {
      const { value, grads } = tf.variableGrads(() => tf.mean(h.model.forward(ids).logits) as tf.Scalar, vars);
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
    };
    step();
    await generateIds(h, [[1, 2, 3]], { maxNewTokens: 4, stopIds: [-1] });
    const before = tf.memory();
    for (let i = 0; i < 5; i++) step();
    await generateIds(
      h,
      [
        [1, 2, 3],
        [4, 5],
      ],
      { maxNewTokens: 4, stopIds: [-1] },
    );
    assert.equal(tf.memory().numTensors, before.numTensors, 'tensors leaked');
    assert.equal(tf.memory().numBytes, before.numBytes, 'bytes leaked');
    ids.dispose();
    h.dispose();
  });

  it('greedy decoding with the KV cache gives the same tokens as on cpu (batch with left padding)', async () => {
    const run = async (backend: 'cpu' | 'wasm') => {
      await useBackend(backend);
      const h = await loadCheckpoint(join(ROOT, 'test/fixtures/tiny-qwen2'));
      // A long prompt batch (prefill splits across threads) of uneven lengths (left padding).
      const prompts = Array.from({ length: 8 }, (_, b) =>
        Array.from({ length: 20 - b }, (_, t) => ((t * 5 + b) % 30) + 1),
      );
      const out = await generateIds(h, prompts, { maxNewTokens: 8, stopIds: [-1] });
      h.dispose();
      return out;
    };
    assert.deepEqual(await run('wasm'), await run('cpu'));
  });
});
