import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runGraph } from '@e3/core';
import { builtinModules, latestStateDir } from '@e3/plugins';
import { ROOT, tempDir, writeFiles } from '../helpers/files.js';
import { useBackend } from '../helpers/tf.js';
import { tinyCheckpoint } from '../helpers/tiny-model.js';

/** A search → prune → distill → export graph on a tiny checkpoint. */
function pipeline(dir: string, cache: string, out: string, extra = ''): string {
  return writeFiles({
    'g.yaml': `apiVersion: e3/v1
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
`,
  });
}

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

describe('distiller', function () {
  this.timeout(300000);
  before(() => useBackend('wasm'));

  it('lowers the distillation loss on a tiny model and exports the student', async () => {
    const dir = await tinyCheckpoint({ layers: 3, std: 0.4 });
    const out = join(tempDir(), 'student');
    const g = pipeline(dir, join(tempDir(), 'cache'), out);
    const r = await runGraph(join(g, 'g.yaml'), {
      modules: builtinModules,
      outDir: join(tempDir(), 'run'),
      quiet: true,
      logLevel: 'error',
    });
    const hist = (r.lastValues['distill.metrics'] as { history: { loss: number }[] }).history;
    const first = hist.slice(0, 3).reduce((a, b) => a + b.loss, 0) / 3;
    const last = hist.slice(-3).reduce((a, b) => a + b.loss, 0) / 3;
    assert.ok(last < 0.7 * first, `loss ${first} → ${last}`);
    assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).num_hidden_layers, 2);
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
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin/e3.js'), 'run', join(g2, 'g.yaml'), '--out', runB, '--quiet'],
      { stdio: 'ignore' },
    );
    const ckptDir = join(runB, 'checkpoints', 'distill');
    const savedStep = () => {
      const d = latestStateDir(ckptDir);
      try {
        return d ? JSON.parse(readFileSync(join(d, 'state.json'), 'utf8')).step : -1;
      } catch {
        return -1;
      }
    };
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (savedStep() >= 10) {
          clearInterval(t);
          child.kill('SIGKILL');
          resolve();
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(t);
        reject(new Error('the run finished before it could be killed'));
      });
    });
    await new Promise((r) => child.on('exit', r));
    assert.ok(!existsSync(outB), 'the killed run must not have exported');
    await runGraph(join(g2, 'g.yaml'), { modules: builtinModules, resumeDir: runB, quiet: true, logLevel: 'error' });
    assert.equal(
      readFileSync(join(outB, 'e3_pruning.json'), 'utf8'),
      readFileSync(join(outA, 'e3_pruning.json'), 'utf8').replace(outA, outB),
    );
    assert.equal(sha(join(outB, 'model.safetensors')), sha(join(outA, 'model.safetensors')));
    const resumed = JSON.parse(readFileSync(join(runB, 'run.json'), 'utf8'));
    assert.equal(resumed.status, 'succeeded');
    assert.equal(resumed.resumed, true);
  });
});
