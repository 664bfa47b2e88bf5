import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { latestStateDir } from '@e3/plugins';
import { ROOT, tempDir, writeFiles } from '../helpers/files.js';
import { useBackend } from '../helpers/tf.js';
import { tinyCheckpoint } from '../helpers/tiny-model.js';

describe('run lifecycle: cancelling', function () {
  this.timeout(120000);
  before(() => useBackend('wasm'));

  it('Ctrl-C (SIGINT) cancels a run: exit code 130, run.json says cancelled, a checkpoint is flushed', async () => {
    const dir = await tinyCheckpoint({ layers: 2 });
    const g = writeFiles({
      'g.yaml': `apiVersion: e3/v1
backend: wasm
nodes:
  data: { plugin: data.arithmetic, params: { maxOperand: 9 } }
  m: { plugin: model.hfCheckpoint, params: { path: ${dir} } }
  train: { plugin: trainer.train, params: { steps: 100000, batchSize: 8, checkpointEvery: 0 }, in: { model: m.model, data: data.data } }
`,
    });
    const out = join(tempDir(), 'run');
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin/e3.js'), 'run', join(g, 'g.yaml'), '--out', out, '--progress', 'none'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!sent && /run .* \(seed/.test(stderr)) {
        sent = true;
        setTimeout(() => child.kill('SIGINT'), 1500);
      }
    });
    const code = await new Promise((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 130, stderr);
    assert.match(stderr, /run cancelled/);
    assert.doesNotMatch(stderr, /\n\s+at /);
    assert.equal(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).status, 'cancelled');
    assert.ok(latestStateDir(join(out, 'checkpoints', 'train')), 'the trainer should flush a checkpoint on cancel');
  });
});
