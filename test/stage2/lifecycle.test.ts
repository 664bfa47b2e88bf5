import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Logger, Progress } from '@e3/core';
import { AdamW, latestStateDir, trainLoop } from '@e3/plugins';
import { ROOT, tempDir, writeFiles } from '../helpers/files.js';
import { useBackend } from '../helpers/tf.js';
import { tinyCheckpoint } from '../helpers/tiny-model.js';

describe('run lifecycle', function () {
  this.timeout(120000);

  it('tf.memory().numTensors stays flat over a long training loop', async () => {
    await useBackend('wasm');
    const w = tf.variable(tf.randomNormal([8, 8]));
    const x = tf.randomNormal([4, 8]);
    const before = tf.memory().numTensors;
    const loop = (steps: number) => trainLoop({
      vars: [w], resume: false, logger: new Logger('error'), progress: new Progress(process.stderr, true), task: 'mem', signal: new AbortController().signal,
      params: { steps, lr: 0.01, warmupSteps: 2, minLrRatio: 0.1, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, clipNorm: 0.5, maxTokens: 0, checkpointEvery: 0, logEvery: 1 },
      loss: async () => ({ tokens: 4, value: () => tf.mean(tf.square(tf.matMul(x, w))) as tf.Scalar }),
    });
    await loop(5);
    const after5 = tf.memory().numTensors;
    await loop(50);
    assert.equal(tf.memory().numTensors, after5, 'tensors leaked per step');
    assert.equal(after5, before, 'tensors leaked by the loop');
    const opt = new AdamW([w], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
    opt.dispose();
    w.dispose(); x.dispose();
  });

  it('Ctrl-C (SIGINT) cancels a run: exit code 130, run.json says cancelled, a checkpoint is flushed', async () => {
    const dir = await tinyCheckpoint({ layers: 2 });
    const g = writeFiles({ 'g.yaml': `apiVersion: e3/v1
backend: wasm
nodes:
  data: { plugin: data.arithmetic, params: { maxOperand: 9 } }
  m: { plugin: model.hfCheckpoint, params: { path: ${dir} } }
  train: { plugin: trainer.train, params: { steps: 100000, batchSize: 8, checkpointEvery: 0 }, in: { model: m.model, data: data.data } }
` });
    const out = join(tempDir(), 'run');
    const child = spawn(process.execPath, [join(ROOT, 'bin/e3.js'), 'run', join(g, 'g.yaml'), '--out', out, '--progress', 'none'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!sent && /run .* \(seed/.test(stderr)) { sent = true; setTimeout(() => child.kill('SIGINT'), 1500); }
    });
    const code = await new Promise((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 130, stderr);
    assert.match(stderr, /run cancelled/);
    assert.doesNotMatch(stderr, /\n\s+at /);
    assert.equal(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).status, 'cancelled');
    assert.ok(latestStateDir(join(out, 'checkpoints', 'train')), 'the trainer should flush a checkpoint on cancel');
  });
});
