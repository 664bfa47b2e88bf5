import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LOCK_FILE } from '@e3/core';
import { e3, ROOT, tempDir, writeFiles } from '../helpers/files.js';

const STATS = join(ROOT, 'examples/stats.yaml');
const noStack = (s: string) => assert.doesNotMatch(s, /\n\s+at /);

/** A tiny trainer graph: 4 steps, a checkpoint every 2, into the run directory. */
function trainerGraph(): string {
  return join(
    writeFiles({
      'g.yaml': `apiVersion: e3/v1
seed: 1
nodes:
  data: { plugin: data.arithmetic, params: { ops: ['+'], maxOperand: 9 } }
  init:
    plugin: model.init
    params:
      config: { model_type: qwen3, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1,
        num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8, max_position_embeddings: 32,
        tie_word_embeddings: true }
  train:
    plugin: trainer.train
    params: { steps: 4, batchSize: 4, lr: 1.0e-3, checkpointEvery: 2, logEvery: 1,
      loss: [ { component: loss.crossEntropy } ] }
    in: { model: init.model, data: data.data }
`,
    }),
    'g.yaml',
  );
}

describe('run directories', function () {
  this.timeout(120000);

  it('refuses a non-empty --out that holds no earlier run, and leaves it alone', () => {
    const out = writeFiles({ 'notes.txt': 'mine' });
    const r = e3(['run', STATS, '--out', out, '--progress', 'none']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /--out .* is not empty and holds no earlier e3 run \(no e3 run\.json\).*choose a new or empty/,
    );
    noStack(r.stderr);
    assert.deepEqual(readdirSync(out), ['notes.txt']);
  });

  it('refuses a second run into a locked run directory, naming the first; takes over a stale lock', async () => {
    const out = join(tempDir(), 'run');
    assert.equal(e3(['run', STATS, '--out', out, '--progress', 'none']).code, 0);
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const lock = { pid: holder.pid, host: (await import('node:os')).hostname(), startedAt: 'then', command: 'run x' };
      writeFileSync(join(out, LOCK_FILE), JSON.stringify(lock));
      const r = e3(['run', STATS, '--resume', out, '--progress', 'none']);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        new RegExp(`run directory .* is in use by another e3 run \\(pid ${holder.pid}, started then: e3 run x\\)`),
      );
      noStack(r.stderr);
    } finally {
      holder.kill();
    }
    await new Promise((res) => holder.on('exit', res));
    const again = e3(['run', STATS, '--resume', out, '--progress', 'none']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /took over a stale lock of run directory .*is no longer running/);
    assert.ok(!existsSync(join(out, LOCK_FILE)), 'the lock is released at the end');
  });

  it('reports a run directory it cannot create, without a stack trace', () => {
    const dir = tempDir();
    const unwritable = process.getuid?.() === 0 ? '/sys/e3-test-run' : join(dir, 'ro', 'run');
    if (process.getuid?.() !== 0) {
      mkdirSync(join(dir, 'ro'), { mode: 0o555 });
    }
    const r = e3(['run', STATS, '--out', unwritable, '--progress', 'none']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /cannot create the run directory .*: .*\((EACCES|EPERM|EROFS)\); choose a writable directory/,
    );
    noStack(r.stderr);
    const inRoCwd = e3(['run', STATS, '--progress', 'none'], {
      cwd: process.getuid?.() === 0 ? '/sys' : join(dir, 'ro'),
    });
    assert.equal(inRoCwd.code, 1);
    assert.match(inRoCwd.stderr, /cannot create the run directory/);
  });
});

describe('resume checks', function () {
  this.timeout(120000);

  it('resumes a finished node whose params are unchanged, reruns one whose params changed', () => {
    const graph = trainerGraph();
    const out = join(tempDir(), 'run');
    assert.equal(e3(['run', graph, '--out', out, '--progress', 'none']).code, 0);
    const same = e3(['run', graph, '--resume', out, '--progress', 'none']);
    assert.equal(same.code, 0, same.stderr);
    assert.match(same.stderr, /train: resumed at step 4/);
    const changed = e3(['run', graph, '--resume', out, '--set', 'nodes.train.params.lr=0.002', '--progress', 'none']);
    assert.equal(changed.code, 0, changed.stderr);
    assert.match(
      changed.stderr,
      /node train: "params\.lr" changed since its state was saved; discarding .* and rerunning it/,
    );
    assert.doesNotMatch(changed.stderr, /resumed at step/);
    assert.match(readFileSync(join(out, 'resolved.yaml'), 'utf8'), /lr: 0\.002/);
  });

  it('a change upstream reruns the nodes downstream, saying which input changed', () => {
    const graph = trainerGraph();
    const out = join(tempDir(), 'run');
    assert.equal(e3(['run', graph, '--out', out, '--progress', 'none']).code, 0);
    const r = e3(['run', graph, '--resume', out, '--set', 'nodes.data.params.maxOperand=8', '--progress', 'none']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /node train: an input or the e3 version changed since its state was saved/);
  });

  it('a corrupt resolved.yaml or node-keys.json does not stop a resume', () => {
    const graph = trainerGraph();
    const out = join(tempDir(), 'run');
    assert.equal(e3(['run', graph, '--out', out, '--progress', 'none']).code, 0);
    writeFileSync(join(out, 'resolved.yaml'), 'nodes: [ {{{');
    writeFileSync(join(out, 'node-keys.json'), '{ not json');
    const r = e3(['run', graph, '--resume', out, '--progress', 'none']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /node-keys\.json is unreadable; no saved node state can be trusted/);
    assert.match(r.stderr, /node train: no record of what it computed .* rerunning it/);
    noStack(r.stderr);
  });

  it('a run directory without node-keys.json (an older e3) trusts no saved state', () => {
    const graph = trainerGraph();
    const out = join(tempDir(), 'run');
    assert.equal(e3(['run', graph, '--out', out, '--progress', 'none']).code, 0);
    rmSync(join(out, 'node-keys.json'));
    const r = e3(['run', graph, '--resume', out, '--progress', 'none']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /node train: no record of what it computed since its state was saved; discarding/);
  });

  it("--resume DIR alone keeps the run's --seed; a changed seed is named", () => {
    const graph = trainerGraph();
    const out = join(tempDir(), 'run');
    assert.equal(e3(['run', graph, '--out', out, '--seed', '5', '--progress', 'none']).code, 0);
    const r = e3(['run', '--resume', out, '--progress', 'none']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /train: resumed at step 4/);
    assert.equal(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).seed, 5);
    const other = e3(['run', '--resume', out, '--seed', '6', '--progress', 'none']);
    assert.match(other.stderr, /node train: "seed" changed since its state was saved/);
  });

  it("a user's folder with a run.json of its own is neither resumed nor written into", () => {
    const dir = writeFiles({ 'run.json': '{"mine": true}', 'resolved.yaml': 'a: 1' });
    const r = e3(['run', STATS, '--resume', dir, '--progress', 'none']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not a run directory \(no run\.json written by e3\)/);
    assert.match(e3(['run', STATS, '--out', dir, '--progress', 'none']).stderr, /holds no earlier e3 run/);
    assert.equal(readFileSync(join(dir, 'run.json'), 'utf8'), '{"mine": true}');
  });
});

describe('run lock under contention', function () {
  this.timeout(60000);

  it('of several runs taking over one stale lock at once, exactly one gets it', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, LOCK_FILE),
      JSON.stringify({ pid: 999999, host: hostname(), startedAt: 'x', command: 'x' }),
    );
    const core = JSON.stringify(join(ROOT, 'core/dist/index.js'));
    const script = `import(${core}).then(({ acquireRunLock }) => {
      try { acquireRunLock(${JSON.stringify(dir)}, () => {}); console.log('got'); setTimeout(() => {}, 1500); }
      catch { console.log('refused'); } })`;
    const results = await Promise.all(
      [...Array(4)].map(
        () =>
          new Promise<string>((res) => {
            const child = spawn(process.execPath, ['-e', script]);
            let out = '';
            child.stdout.on('data', (d) => {
              out += d;
            });
            child.on('exit', () => res(out.trim()));
          }),
      ),
    );
    assert.equal(results.filter((r) => r === 'got').length, 1, results.join(','));
  });
});
