import { strict as assert } from 'node:assert';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { PARTIAL_MARKER } from '@e3/core';
import { e3, ROOT, writeFiles } from '../helpers/files.js';

const MODEL = join(ROOT, 'test/fixtures/tiny-llama');
const noStack = (s: string) => assert.doesNotMatch(s, /\n\s+at /);

/** A working directory holding a user's file and a graph that exports the fixture to `${vars.out}`. */
function workspace(extraParams = ''): { cwd: string; graph: string } {
  const cwd = writeFiles({
    'keep.txt': "the user's file",
    'g.yaml': `apiVersion: e3/v1
vars: { out: pruned }
nodes:
  teacher: { plugin: model.hfCheckpoint, params: { path: ${MODEL} } }
  export: { plugin: exporter.hf, params: { dir: "\${vars.out}"${extraParams} }, in: { model: teacher.model } }
`,
  });
  return { cwd, graph: join(cwd, 'g.yaml') };
}

const run = (w: { cwd: string; graph: string }, ...args: string[]) =>
  e3(['run', w.graph, '--quiet', ...args], { cwd: w.cwd });

describe('exporter.hf output safety', function () {
  this.timeout(120000);

  it('exports under the run directory by default, and follows --out', () => {
    const w = workspace();
    const r = run(w, '--out', 'elsewhere');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(w.cwd, 'elsewhere', 'pruned', 'e3_pruning.json')));
    assert.ok(!existsSync(join(w.cwd, 'runs')));
    const again = run(w, '--out', 'elsewhere');
    assert.equal(again.code, 0, 'a rerun replaces its own export without force: ' + again.stderr);
  });

  it("vars.out=. (the run directory itself) is refused and the user's files survive", () => {
    const w = workspace();
    const r = run(w, '--out', 'run', '--set', 'vars.out=.');
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /node "export" failed: node "export" \(exporter\.hf\) dir .*\/run is the run directory; e3 never/,
    );
    noStack(r.stderr);
    assert.doesNotMatch(r.stderr, /teacher: loaded/, 'refused when the graph is wired, before any node runs');
    assert.equal(readFileSync(join(w.cwd, 'keep.txt'), 'utf8'), "the user's file");
    assert.ok(existsSync(join(w.cwd, 'run', 'run.json')));
  });

  it('refuses the working directory and any ancestor of the run, even with force', () => {
    const w = workspace(', force: true');
    const cwd = run(w, '--out', 'runs/a', '--set', `vars.out=${w.cwd}`);
    assert.equal(cwd.code, 1);
    assert.match(cwd.stderr, /dir .* is the working directory; e3 never writes an output over it/);
    const parent = run(w, '--out', 'runs/a', '--set', `vars.out=${join(w.cwd, 'runs')}`);
    assert.equal(parent.code, 1);
    assert.match(parent.stderr, /dir .*\/runs contains the run directory \(.*\/runs\/a\)/);
    assert.equal(readFileSync(join(w.cwd, 'keep.txt'), 'utf8'), "the user's file");
    assert.deepEqual(readdirSync(join(w.cwd, 'runs')), ['a']);
  });

  it('force replaces an earlier e3 export outside the run, never a foreign directory', () => {
    const w = workspace();
    const foreign = join(w.cwd, 'mine');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'data.bin'), 'x');
    const noForce = run(w, '--out', 'r1', '--set', `vars.out=${foreign}`);
    assert.match(noForce.stderr, /already exists; choose another directory, or pass --force/);
    const forced = run(w, '--out', 'r2', '--set', `vars.out=${foreign}`, '--set', 'nodes.export.params.force=true');
    assert.equal(forced.code, 1);
    assert.match(forced.stderr, /is not empty and is not a checkpoint e3 exported \(no e3_pruning\.json inside\)/);
    assert.deepEqual(readdirSync(foreign), ['data.bin']);

    const ours = join(w.cwd, 'export');
    assert.equal(run(w, '--out', 'r3', '--set', `vars.out=${ours}`).code, 0);
    const again = run(w, '--out', 'r4', '--set', `vars.out=${ours}`);
    assert.match(again.stderr, /already exists/);
    const replaced = run(w, '--out', 'r5', '--set', `vars.out=${ours}`, '--set', 'nodes.export.params.force=true');
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.ok(existsSync(join(ours, 'model.safetensors')));
  });

  it('cleans up after an export killed mid-replacement', () => {
    const w = workspace();
    assert.equal(run(w, '--out', 'run').code, 0);
    const pruned = join(w.cwd, 'run', 'pruned');
    // A kill between the two renames of a replacement: the old version aside, nothing in place,
    // and another killed process's half-filled directory.
    renameSync(pruned, `${pruned}.old-999999`);
    mkdirSync(`${pruned}.partial-999998`);
    writeFileSync(join(`${pruned}.partial-999998`, PARTIAL_MARKER), '999998');
    const r = run(w, '--resume', 'run');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      readdirSync(join(w.cwd, 'run')).filter((n) => n.startsWith('pruned')),
      ['pruned'],
    );
    assert.ok(existsSync(join(pruned, 'model.safetensors')));
  });
});

describe('e3 prune output safety', function () {
  this.timeout(120000);

  it('refuses the working directory, the source model and its ancestors; the model survives', () => {
    const cwd = writeFiles({ 'keep.txt': 'mine' });
    cpSync(MODEL, join(cwd, 'models', 'm'), { recursive: true });
    const prune = (...a: string[]) => e3(['prune', '--model', 'models/m', '--drop', '1', ...a], { cwd });
    const dot = prune('--out', '.', '--force');
    assert.equal(dot.code, 1);
    assert.match(dot.stderr, /--out .* is the working directory; e3 never writes an output over it/);
    const same = prune('--out', 'models/m', '--force');
    assert.match(same.stderr, /--out .*models\/m is the source model/);
    const up = prune('--out', 'models', '--force');
    assert.match(up.stderr, /--out .*models contains the source model/);
    [dot, same, up].forEach((r) => {
      assert.equal(r.code, 1);
      noStack(r.stderr);
    });
    assert.deepEqual(readdirSync(join(cwd, 'models', 'm')).sort(), readdirSync(MODEL).sort());
    assert.equal(readFileSync(join(cwd, 'keep.txt'), 'utf8'), 'mine');
    const ok = prune('--out', 'out');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(prune('--out', 'out').stderr, /already exists.*--force/);
    assert.equal(prune('--out', 'out', '--force').code, 0);
    mkdirSync(join(cwd, 'foreign'));
    writeFileSync(join(cwd, 'foreign', 'x'), 'x');
    assert.match(prune('--out', 'foreign', '--force').stderr, /is not a checkpoint e3 exported/);
  });

  it("never touches a user's look-alike of its leftovers, a folder inside the model, a run.json folder, a dead link", () => {
    const cwd = writeFiles({
      'keep.old-77777/thesis.txt': 'precious',
      'backup.old-2023/t.txt': 'precious',
      'keep/x': 'x',
      'exp/run.json': '{}',
      'exp/results.csv': 'data',
    });
    cpSync(MODEL, join(cwd, 'm'), { recursive: true });
    const prune = (...a: string[]) => e3(['prune', '--model', 'm', '--drop', '1', ...a], { cwd });
    assert.match(prune('--out', 'keep').stderr, /already exists/);
    assert.equal(readFileSync(join(cwd, 'keep.old-77777', 'thesis.txt'), 'utf8'), 'precious');
    assert.equal(prune('--out', 'backup').code, 0);
    assert.equal(readFileSync(join(cwd, 'backup.old-2023', 't.txt'), 'utf8'), 'precious');
    assert.match(prune('--out', 'exp', '--force').stderr, /is not a checkpoint e3 exported/);
    assert.equal(readFileSync(join(cwd, 'exp', 'results.csv'), 'utf8'), 'data');
    const inside = prune('--out', 'm/sub');
    assert.match(inside.stderr, /--out .*m\/sub is inside the source model \(.*\), which e3 leaves as it is/);
    assert.ok(!existsSync(join(cwd, 'm', 'sub')));
    symlinkSync(join(cwd, 'nowhere'), join(cwd, 'dang'));
    const dang = prune('--out', 'dang');
    assert.equal(dang.code, 1);
    assert.match(dang.stderr, /--out .*dang is a symbolic link to a missing path/);
    assert.ok(!readdirSync(cwd).some((n) => n.startsWith('dang.')));
  });
});
