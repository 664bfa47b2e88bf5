import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng, runGraph } from '@e3/core';
import { builtinModules, ForwardKlLoss, GumbelTopKSampler, loadCheckpoint, tokensFromLogits } from '@e3/plugins';
import { ROOT, tempDir, writeFiles } from '../helpers/files.js';
import { tinyCheckpoint } from '../helpers/tiny-model.js';
import { skipBecause } from '../helpers/skip.js';

/** Logits and gradients (mask logits α; all weights) of a fixture on one backend. */
async function compute(backend: 'cpu' | 'webgpu', dir: string) {
  await initBackend(backend);
  const h = await loadCheckpoint(dir);
  const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
  const ids = tf.tensor2d(ref.ids, undefined, 'int32');
  const logits = h.model.forward(ids).logits;
  const logitsData = Array.from(await logits.data());
  const L = h.model.numLayers;
  const alpha = tf.variable(tf.tensor1d(Array.from({ length: L }, (_, i) => 0.1 * i)));
  const V = h.model.config.vocabSize;
  const logp = tf.logSoftmax(logits);
  const { values, indices } = tf.topk(logp, 4);
  const targets = {
    ids: indices as tf.Tensor3D,
    logProbs: values as tf.Tensor3D,
    entropy: tf.zeros([2, ref.ids[0].length]) as tf.Tensor2D,
  };
  const active = tf.ones([2, ref.ids[0].length]) as tf.Tensor2D;
  const labels = tf.zeros([2, ref.ids[0].length], 'int32') as tf.Tensor2D;
  const loss = (mask?: tf.Tensor1D) =>
    new ForwardKlLoss({ weight: 1 }).compute({
      student: tokensFromLogits(h.model.forward(ids, { mask }).logits, labels, targets.ids),
      labels,
      active,
      tokenWeights: active,
      targets,
      vocabSize: V,
    });
  const sampler = new GumbelTopKSampler({ noise: { from: 1, to: 1 } });
  const av = Array.from(await alpha.data());
  const search = tf.variableGrads(
    () => loss(sampler.sample(alpha, av, { k: L - 1, tau: 0.5, progress: 0 }, new Rng(3)).mask),
    [alpha],
  );
  const alphaGrad = Array.from(await search.grads[alpha.name].data());
  const vars = h.model.variables();
  const distil = tf.variableGrads(
    () => tf.add(loss(), tf.mul(0.01, tf.sum(tf.square(h.model.forward(ids).logits)))) as tf.Scalar,
    vars,
  );
  const weightGrads = await Promise.all(
    vars.slice(0, 12).map(async (v) => Array.from(await distil.grads[v.name].data())),
  );
  h.dispose();
  return { logitsData, alphaGrad, weightGrads };
}

describe('webgpu backend (Dawn; lavapipe on CI)', function () {
  this.timeout(300000);
  before(async function () {
    try {
      await initBackend('webgpu');
    } catch (e) {
      skipBecause(this, (e as Error).message.split('\n')[0]);
    }
  });
  after(() => initBackend('cpu'));

  for (const name of ['tiny-qwen3', 'tiny-llama']) {
    it(`${name}: logits, search gradients and distillation gradients match the cpu backend to 1e-4`, async () => {
      const dir = join(ROOT, 'test/fixtures', name);
      const cpu = await compute('cpu', dir);
      const gpu = await compute('webgpu', dir);
      const close = (a: number[], b: number[], what: string) =>
        a.forEach((v, i) =>
          assert.ok(Math.abs(v - b[i]) <= 1e-4 * Math.max(1, Math.abs(v)), `${what}[${i}]: ${v} vs ${b[i]}`),
        );
      close(cpu.logitsData, gpu.logitsData, 'logits');
      close(cpu.alphaGrad, gpu.alphaGrad, 'dα');
      assert.ok(cpu.alphaGrad.some((g) => Math.abs(g) > 1e-6));
      cpu.weightGrads.forEach((g, i) => close(g, gpu.weightGrads[i], `dW${i}`));
    });
  }

  it('runs a tiny search + distill + generation graph end to end', async () => {
    const dir = await tinyCheckpoint({ layers: 3, std: 0.4 });
    const out = join(tempDir(), 'student');
    const g = writeFiles({
      'g.yaml': `apiVersion: e3/v1
backend: webgpu
nodes:
  data: { plugin: data.arithmetic, params: { maxOperand: 9 } }
  teacher: { plugin: model.hfCheckpoint, params: { path: ${dir} } }
  targets: { plugin: teacher.topkCache, params: { k: 4, dir: ${join(tempDir(), 'cache')}, calibration: 16, heldout: 8 }, in: { model: teacher.model, data: data.data } }
  search: { plugin: masker.search, params: { pruneLayers: 1, steps: 4, restarts: 1, calibration: 16, searchBatchSize: 8 }, in: { model: teacher.model, data: data.data, targets: targets.targets } }
  pruned: { plugin: model.prune, in: { model: teacher.model, mask: search.mask } }
  distill: { plugin: distiller.train, params: { steps: 3, batchSize: 8 }, in: { model: pruned.model, targets: targets.targets, data: data.data } }
  eval: { plugin: evaluator.suite, params: { examples: 8, speed: { repeats: 1, prompts: 2, newTokens: 2 } }, in: { model: distill.model, teacher: teacher.model, data: data.data } }
  export: { plugin: exporter.hf, params: { dir: ${out} }, in: { model: distill.model, report: eval.report } }
`,
    });
    const r = await runGraph(join(g, 'g.yaml'), {
      modules: builtinModules,
      outDir: join(tempDir(), 'run'),
      quiet: true,
      logLevel: 'error',
    });
    assert.equal((r.lastValues['export.artifact'] as { keptLayers: number[] }).keptLayers.length, 2);
    assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).num_hidden_layers, 2);
  });
});

describe('webgpu kernel fixes', function () {
  this.timeout(120000);
  before(async function () {
    try {
      await initBackend('webgpu');
    } catch (e) {
      skipBecause(this, (e as Error).message.split('\n')[0]);
    }
  });
  after(() => initBackend('cpu'));

  it('AddN over more inputs than the storage-buffer limit sums correctly', async () => {
    const xs = Array.from({ length: 30 }, (_, i) => tf.fill([5], i + 1));
    const s = Array.from(await tf.addN(xs).data());
    assert.deepEqual(s, new Array(5).fill(465));
    const few = Array.from(await tf.addN(xs.slice(0, 3)).data());
    assert.deepEqual(few, new Array(5).fill(6));
  });
});
