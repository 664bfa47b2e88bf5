import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { Rng } from '@e3/core';
import { loadAddon } from '@e3/native';
import {
  arithmeticDataset,
  forwardTokens,
  TeacherCache,
  trainableVariables,
  type ModelHandle,
  type SearchMetrics,
} from '@e3/plugins';
import { tempDir } from '../helpers/files.js';
import { runNode } from '../helpers/run-node.js';
import { maxAbsDiff, useBackend } from '../helpers/tf.js';
import { tinyModel } from '../helpers/tiny-model.js';
import { NO_ADDON, skipBecause } from '../helpers/skip.js';

const B = 6,
  T = 24;

/** Loss, gradients to every weight and a layer mask, and the peak of tensor memory above the start. */
async function step(h: ModelHandle, recompute: boolean) {
  const L = h.model.numLayers;
  const ids = tf.tensor2d(
    Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => ((t * 5 + b * 7) % 16) + 2)),
    undefined,
    'int32',
  );
  const mask = tf.variable(tf.tensor1d(Array.from({ length: L }, (_, l) => 0.7 + 0.05 * l)));
  const vars = [...h.model.variables(), mask];
  const before = tf.memory().numBytes;
  let grads: Record<string, tf.Tensor> = {};
  let loss = 0;
  const info = await tf.profile(async () => {
    const r = tf.variableGrads(() => {
      const { student } = forwardTokens(h.model, ids, { labels: ids, trainHead: true, mask, recompute });
      return tf.neg(tf.mean(student.logQLabel)) as tf.Scalar;
    }, vars);
    grads = r.grads;
    loss = (await r.value.data())[0];
    r.value.dispose();
  });
  const out = { loss, grads: vars.map((v) => grads[v.name]), peak: info.peakBytes - before, kernels: info.kernels };
  tf.dispose([ids, mask]);
  return out;
}

describe('memory options of the training nodes', function () {
  this.timeout(120_000);

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`gradient checkpointing: the same loss and gradients, fewer activations kept (${backend}, fused)`, async function () {
      if (!loadAddon()) skipBecause(this, NO_ADDON);
      await useBackend(backend, { native: true });
      const h = await tinyModel({ layers: 6, seed: 3 });
      const plain = await step(h, false);
      const ckpt = await step(h, true);
      assert.equal(ckpt.loss, plain.loss);
      plain.grads.forEach((g, i) => assert.ok(maxAbsDiff(g, ckpt.grads[i]) < 1e-6, `gradient ${i}`));
      // Each block runs forward twice (once more in the backward pass) and keeps an empty workspace.
      const count = (k: typeof plain.kernels, name: string) => k.filter((x) => x.name === name).length;
      assert.equal(count(plain.kernels, 'E3DecoderBlock'), 6);
      assert.equal(count(ckpt.kernels, 'E3DecoderBlock'), 12);
      assert.ok(ckpt.peak < plain.peak, `peak ${ckpt.peak} B with checkpointing, ${plain.peak} B without`);
      tf.dispose([...plain.grads, ...ckpt.grads]);
      h.dispose();
    });
  }

  it('trainableVariables leaves out the embedding (the head too when tied) or the head', async () => {
    await useBackend('cpu');
    const h = await tinyModel({ layers: 2 });
    const all = h.model.variables().length;
    const e = trainableVariables(h.model, ['embeddings']);
    assert.deepEqual(e.frozen, ['model.embed_tokens.weight']);
    assert.equal(e.vars.length, all - 1);
    assert.equal(e.trainHead, false, 'tied: the head is the embedding');
    assert.deepEqual(trainableVariables(h.model, ['head']).frozen, ['model.embed_tokens.weight']);
    const none = trainableVariables(h.model, []);
    assert.equal(none.vars.length, all);
    assert.equal(none.trainHead, true);
    h.dispose();
  });

  it('distiller.train with freeze: [embeddings] and checkpointing trains every weight but the embedding', async () => {
    await useBackend('wasm');
    const h = await tinyModel({ layers: 4, seed: 2 });
    const data = arithmeticDataset({ ops: ['+'], maxOperand: 9, heldoutFraction: 0.2 }, new Rng(1));
    const targets = await TeacherCache.open(h, data.fingerprint, 3, join(tempDir(), 'cache'), { batchSize: 16 });
    const params = { steps: 3, batchSize: 8, lr: 0.01, gradientCheckpointing: true, freeze: ['embeddings'] };
    const run = await runNode('distiller.train', params, { model: h, targets, data });
    const out = run.outputs.model as ModelHandle;
    const before = h.model.named(),
      after = out.model.named();
    assert.equal(maxAbsDiff(before.get('model.embed_tokens.weight')!, after.get('model.embed_tokens.weight')!), 0);
    assert.ok(
      maxAbsDiff(before.get('model.layers.0.mlp.up_proj.weight')!, after.get('model.layers.0.mlp.up_proj.weight')!) > 0,
    );
    assert.ok(run.log.some((l) => /frozen \(not trained\): model\.embed_tokens\.weight/.test(l)));
    out.dispose();
    targets.dispose();
    h.dispose();
  });

  describe('microBatch: a node trains as with its whole batch', () => {
    const data = arithmeticDataset({ ops: ['+', '-'], maxOperand: 99, heldoutFraction: 0.2 }, new Rng(1));
    /** max |a − b| over every weight of two models, and the largest change from `base`. */
    const compare = (base: ModelHandle, a: ModelHandle, b: ModelHandle) => {
      let diff = 0,
        moved = 0;
      for (const [name, w] of base.model.named()) {
        diff = Math.max(diff, maxAbsDiff(a.model.named().get(name)!, b.model.named().get(name)!));
        moved = Math.max(moved, maxAbsDiff(w, a.model.named().get(name)!));
      }
      return { diff, moved };
    };

    for (const plugin of ['trainer.train', 'distiller.train'] as const) {
      it(`${plugin}: micro-batches of 3 (3 + 3 + 2) give the weights of batches of 8`, async () => {
        await useBackend('wasm');
        const h = await tinyModel({ layers: 3, seed: 4 });
        // Another model teaches (a student equal to its teacher has a zero gradient, which AdamW makes noise of).
        const teacher = await tinyModel({ layers: 3, seed: 6 });
        const targets =
          plugin === 'distiller.train'
            ? await TeacherCache.open(teacher, data.fingerprint, 3, join(tempDir(), 'cache'), { batchSize: 16 })
            : undefined;
        const run = (microBatch: number | 'auto') =>
          runNode(
            plugin,
            { steps: 3, batchSize: 8, lr: 0.01, warmupSteps: 0, microBatch, checkpointEvery: 0 },
            { model: h, data, ...(targets ? { targets } : {}) },
          );
        const [whole, parts] = [await run('auto'), await run(3)];
        assert.ok(parts.log.some((l) => /batches of 8 examples run as 3 micro-batches of at most 3/.test(l)));
        assert.ok(!whole.log.some((l) => /micro-batches/.test(l)));
        const [a, b] = [whole.outputs.model as ModelHandle, parts.outputs.model as ModelHandle];
        const { diff, moved } = compare(h, a, b);
        assert.ok(moved > 0.01, `the weights moved by ${moved}`);
        assert.ok(diff < 1e-5, `weights differ by ${diff}`);
        a.dispose();
        b.dispose();
        targets?.dispose();
        teacher.dispose();
        h.dispose();
      });
    }

    it("masker.search: each micro-batch sees the step's one sampled mask; α and the masks are the same", async () => {
      await useBackend('wasm');
      const h = await tinyModel({ layers: 6, std: 0.5 });
      const cache = await TeacherCache.open(h, data.fingerprint, 3, join(tempDir(), 'cache'), { batchSize: 16 });
      const run = async (microBatch: number | 'auto') => {
        const r = await runNode(
          'masker.search',
          {
            pruneLayers: 2,
            calibration: 16,
            batchSize: 8,
            searchBatchSize: 8,
            microBatch,
            steps: 8,
            restarts: 1,
            refineRounds: 0,
            checkpointEvery: 0,
            window: 1,
            init: { component: 'importance.lastN', keepFinalLayer: false },
            curriculum: { enabled: false, warmupFraction: 0 },
            sampler: { component: 'sampler.gumbelTopk', noise: { from: 3, to: 3 } },
          },
          { model: h, data, targets: cache },
        );
        return (r.outputs.metrics as SearchMetrics).restarts[0];
      };
      const [whole, parts] = [await run('auto'), await run(3)];
      assert.deepEqual(parts.keepProbability, whole.keepProbability, 'the same hard masks, one per step');
      parts.alpha.forEach((a, i) => assert.ok(Math.abs(a - whole.alpha[i]) < 1e-5, `α${i}: ${a} vs ${whole.alpha[i]}`));
      assert.ok(new Set(whole.keepProbability).size > 1, 'noisy masks vary');
      cache.dispose();
      h.dispose();
    });
  });
});
