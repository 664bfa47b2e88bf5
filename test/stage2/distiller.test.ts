import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Logger, Progress, runGraph, UserError } from '@e3/core';
import { builtinModules, latestStateDir, trainLoop } from '@e3/plugins';
import { ROOT, tempDir, writeFiles } from '../helpers/files.js';
import { useBackend } from '../helpers/tf.js';
import { tinyCheckpoint } from '../helpers/tiny-model.js';

/** A search → prune → distill → export graph on a tiny checkpoint. */
function pipeline(dir: string, cache: string, out: string, extra = ''): string {
  return writeFiles({ 'g.yaml': `apiVersion: e3/v1
seed: 5
backend: wasm
nodes:
  data: { plugin: data.arithmetic, params: { maxOperand: 9, heldoutFraction: 0.2 } }
  teacher: { plugin: model.hfCheckpoint, params: { path: ${dir} } }
  targets: { plugin: teacher.topkCache, params: { k: 4, dir: ${cache}, calibration: 32, heldout: 0 }, in: { model: teacher.model, data: data.data } }
  search:
    plugin: masker.search
    params: { pruneLayers: 1, steps: 24, restarts: 1, calibration: 32, searchBatchSize: 8, checkpointEvery: 6 }
    in: { model: teacher.model, data: data.data, targets: targets.targets }
  pruned: { plugin: model.prune, in: { model: teacher.model, mask: search.mask } }
  distill:
    plugin: distiller.train
    params: { steps: 80, batchSize: 16, lr: 3.0e-3, checkpointEvery: 5, logEvery: 1${extra} }
    in: { model: pruned.model, targets: targets.targets, data: data.data }
  export: { plugin: exporter.hf, params: { dir: ${out}, force: true }, in: { model: distill.model } }
` });
}

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

describe('distiller', function () {
  this.timeout(300000);
  before(() => useBackend('wasm'));

  it('lowers the distillation loss on a tiny model and exports the student', async () => {
    const dir = await tinyCheckpoint({ layers: 3, std: 0.4 });
    const out = join(tempDir(), 'student');
    const g = pipeline(dir, join(tempDir(), 'cache'), out);
    const r = await runGraph(join(g, 'g.yaml'), { modules: builtinModules, outDir: join(tempDir(), 'run'), quiet: true, logLevel: 'error' });
    const hist = (r.lastValues['distill.metrics'] as { history: { loss: number }[] }).history;
    const first = hist.slice(0, 3).reduce((a, b) => a + b.loss, 0) / 3;
    const last = hist.slice(-3).reduce((a, b) => a + b.loss, 0) / 3;
    assert.ok(last < 0.7 * first, `loss ${first} → ${last}`);
    assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).num_hidden_layers, 2);
  });

  it('stops with a clear error on a non-finite loss, naming the step', async () => {
    const v = tf.variable(tf.scalar(1));
    await assert.rejects(trainLoop({
      vars: [v], resume: false, logger: new Logger('error'), progress: new Progress(process.stderr, true), task: 'nan-test', signal: new AbortController().signal,
      params: { steps: 10, lr: 0.1, warmupSteps: 0, minLrRatio: 1, weightDecay: 0, beta1: 0.9, beta2: 0.999, clipNorm: 1, maxTokens: 0, checkpointEvery: 0, logEvery: 1 },
      loss: async (step) => ({ tokens: 1, value: () => (step === 3 ? tf.div(tf.mul(v, 0), 0) : tf.square(v)) as tf.Scalar }),
    }), (e: unknown) => e instanceof UserError && /nan-test: non-finite loss \(NaN\) at step 3/.test(e.message));
    v.dispose();
  });

  it('stops at the token budget', async () => {
    const v = tf.variable(tf.scalar(1));
    const r = await trainLoop({
      vars: [v], resume: false, logger: new Logger('error'), progress: new Progress(process.stderr, true), task: 'budget', signal: new AbortController().signal,
      params: { steps: 100, lr: 0.1, warmupSteps: 0, minLrRatio: 1, weightDecay: 0, beta1: 0.9, beta2: 0.999, clipNorm: 1, maxTokens: 25, checkpointEvery: 0, logEvery: 1 },
      loss: async () => ({ tokens: 10, value: () => tf.square(v) as tf.Scalar }),
    });
    assert.equal(r.steps, 3);
    assert.equal(r.tokens, 30);
    v.dispose();
  });

  it('resume after SIGKILL ends with the same mask and weights as an uninterrupted run', async () => {
    const dir = await tinyCheckpoint({ layers: 3, std: 0.4 });
    const cache = join(tempDir(), 'cache');
    const outA = join(tempDir(), 'a');
    const g1 = pipeline(dir, cache, outA);
    const runA = join(tempDir(), 'runA');
    await runGraph(join(g1, 'g.yaml'), { modules: builtinModules, outDir: runA, quiet: true, logLevel: 'error' });

    const outB = join(tempDir(), 'b');
    const g2 = pipeline(dir, cache, outB);
    const runB = join(tempDir(), 'runB');
    const child = spawn(process.execPath, [join(ROOT, 'bin/e3.js'), 'run', join(g2, 'g.yaml'), '--out', runB, '--quiet'], { stdio: 'ignore' });
    const ckptDir = join(runB, 'checkpoints', 'distill');
    const savedStep = () => {
      const d = latestStateDir(ckptDir);
      try { return d ? JSON.parse(readFileSync(join(d, 'state.json'), 'utf8')).step : -1; } catch { return -1; }
    };
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (savedStep() >= 10) { clearInterval(t); child.kill('SIGKILL'); resolve(); }
      }, 20);
      child.on('exit', () => { clearInterval(t); reject(new Error('the run finished before it could be killed')); });
    });
    await new Promise((r) => child.on('exit', r));
    assert.ok(!existsSync(outB), 'the killed run must not have exported');
    await runGraph(join(g2, 'g.yaml'), { modules: builtinModules, resumeDir: runB, quiet: true, logLevel: 'error' });
    assert.equal(readFileSync(join(outB, 'e3_pruning.json'), 'utf8'), readFileSync(join(outA, 'e3_pruning.json'), 'utf8').replace(outA, outB));
    assert.equal(sha(join(outB, 'model.safetensors')), sha(join(outA, 'model.safetensors')));
    const resumed = JSON.parse(readFileSync(join(runB, 'run.json'), 'utf8'));
    assert.equal(resumed.status, 'succeeded');
    assert.equal(resumed.resumed, true);
  });
});

describe('teacher cache', function () {
  this.timeout(60000);
  it('is reused across runs and shared safely: each process appends to its own file', async () => {
    const { TeacherCache, arithmeticDataset } = await import('@e3/plugins');
    const { Rng } = await import('@e3/core');
    const { tinyModel } = await import('../helpers/tiny-model.js');
    await useBackend('wasm');
    const h = await tinyModel({ layers: 2 });
    const dir = join(tempDir(), 'cache');
    const data = arithmeticDataset({ ops: ['+'], maxOperand: 9, heldoutFraction: 0.2 }, new Rng(0));
    const ex = await data.calibration(20);
    const a = await TeacherCache.open(h, data.fingerprint, 3, dir, 8);
    const b = await TeacherCache.open(h, data.fingerprint, 3, dir, 8);
    await a.ensure(ex.slice(0, 10));
    await b.ensure(ex.slice(5, 20));
    assert.equal(a.computed, 10);
    assert.equal(b.computed, 15, 'b opened before a wrote, so it computes its own');
    const c = await TeacherCache.open(h, data.fingerprint, 3, dir, 8);
    assert.equal(c.cachedExamples, 20);
    await c.ensure(ex);
    assert.equal(c.computed, 0);
    assert.equal(c.reused, 20);
    const enc = (await import('@e3/plugins')).encodeBatch(ex.slice(0, 4), a.codec, true);
    const [ta, tc] = [await a.targets(ex.slice(0, 4), enc), await c.targets(ex.slice(0, 4), enc)];
    assert.deepEqual(Array.from(await ta.logProbs.data()), Array.from(await tc.logProbs.data()));
    const { disposeTargets } = await import('@e3/plugins');
    disposeTargets(ta); disposeTargets(tc);
    a.dispose(); b.dispose(); c.dispose(); h.dispose();
  });
});
