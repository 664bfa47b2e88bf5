import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { e3, ROOT, tempDir, writeFiles } from '../helpers/files.js';

describe('e3 CLI (runtime)', function () {
  this.timeout(120000);

  it('validate prints every problem with file:line:col and exits non-zero, without a stack trace', () => {
    const dir = writeFiles({
      'bad.yaml':
        'apiVersion: e3/v1\nnodes:\n  numbers: { plugin: example.sequenc, params: { count: 3 } }\n  mean: { plugin: example.summary, params: { reducer: { component: reducer.mena } }, in: { values: numbrs.values } }\n',
    });
    const r = e3(['validate', join(dir, 'bad.yaml'), '--plugin', join(ROOT, 'examples/dist/stats-plugin.js')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /3 problems in the graph/);
    assert.match(
      r.stderr,
      /bad\.yaml:3:22: node "numbers" field "plugin": unknown plugin "example.sequenc" \(fix: did you mean "example.sequence"\?/,
    );
    assert.match(
      r.stderr,
      /bad\.yaml:4:68: node "mean" field "params.reducer.component": unknown component "reducer.mena".*did you mean "reducer.mean"/,
    );
    assert.match(
      r.stderr,
      /bad\.yaml:4:100: node "mean" field "in.values": wire "numbrs.values" names a missing node "numbrs".*did you mean "numbers"/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('runs the example graph with the custom plugin and writes resolved.yaml and run.json', () => {
    const out = join(tempDir(), 'run');
    const r = e3(['run', 'examples/stats.yaml', '--out', out, '--set', 'vars.n=4', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), out);
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')), {
      node: 'mean',
      reducer: 'mean',
      count: 4,
      value: 2.5,
    });
    assert.equal(JSON.parse(readFileSync(join(out, 'max.json'), 'utf8')).value, 4);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    assert.equal(run.status, 'succeeded');
    assert.ok(run.backend && run.versions.tfjs && run.timings.mean);
    assert.match(readFileSync(join(out, 'resolved.yaml'), 'utf8'), /count: 4/);
  });

  it('a failing run records status failed in run.json and exits 1', () => {
    const out = join(tempDir(), 'run');
    const dir = writeFiles({
      'g.yaml': `apiVersion: e3/v1\nplugins: [${join(ROOT, 'examples/dist/stats-plugin.js')}]\nnodes:\n  s: { plugin: example.summary, params: { file: "resolved.yaml/x.json" }, in: { values: n.values } }\n  n: { plugin: example.sequence, params: { count: 2 } }\n`,
    });
    const r = e3(['run', join(dir, 'g.yaml'), '--out', out, '--quiet']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /node "s" failed/);
    assert.equal(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).status, 'failed');
  });

  it('plugins lists built-ins and loaded plugins with params and defaults', () => {
    const r = e3(['plugins', '--plugin', 'examples/dist/stats-plugin.js']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /example\.summary — Reduces a number stream/);
    assert.match(r.stdout, /param reducer: reducer component = \{"component":"reducer.mean"\}/);
    assert.match(r.stdout, /trainer\.train/);
  });

  it('describe prints the resolved graph and a Mermaid chart', () => {
    const r = e3(['describe', 'examples/stats.yaml', '--set', 'nodes.max.params.reducer.floor=7']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /floor: 7/);
    assert.match(r.stdout, /flowchart LR/);
    assert.match(r.stdout, /numbers -- "values → values" --> mean/);
  });

  it('reports a missing plugin module at its graph line', () => {
    const dir = writeFiles({
      'g.yaml':
        'apiVersion: e3/v1\nplugins: [./nope.js]\nnodes:\n  a: { plugin: example.sequence, params: { count: 1 } }\n',
    });
    const r = e3(['validate', join(dir, 'g.yaml')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /g\.yaml:2:11: field "plugins.0": plugin module .*nope\.js not found/);
    assert.ok(!existsSync(join(dir, 'runs')));
  });
});

describe('e3 schemas', () => {
  it('the committed per-plugin and per-component schemas match the registry', () => {
    const r = e3(['schemas', '--check']);
    assert.equal(r.code, 0, r.stderr);
  });
});

describe('e3 run --resume', function () {
  this.timeout(60000);
  it('resumes with a changed graph (changed nodes rerun) and refuses a directory that holds no run', () => {
    const out = join(tempDir(), 'run');
    assert.equal(e3(['run', 'examples/stats.yaml', '--out', out, '--quiet']).code, 0);
    assert.equal(e3(['run', 'examples/stats.yaml', '--resume', out, '--quiet']).code, 0);
    const r = e3(['run', 'examples/stats.yaml', '--resume', out, '--set', 'vars.n=3', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).count, 3);
    const bad = e3(['run', 'examples/stats.yaml', '--resume', tempDir(), '--quiet']);
    assert.match(bad.stderr, /not a run directory/);
  });
});

describe('e3 run --resume DIR alone, and --version', function () {
  this.timeout(60000);
  it('--resume DIR takes the graph and --set values the run recorded', () => {
    const out = join(tempDir(), 'run');
    assert.equal(e3(['run', 'examples/stats.yaml', '--out', out, '--set', 'vars.n=4', '--quiet']).code, 0);
    const r = e3(['run', '--resume', out, '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).count, 4);
    const more = e3(['run', '--resume', out, '--set', 'vars.n=5', '--quiet']);
    assert.equal(more.code, 0, more.stderr);
    assert.equal(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).count, 5);
    const none = e3(['run', '--quiet']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /give a graph file \(e3 run GRAPH\), or --resume RUN_DIR/);
  });

  it('--version prints the package version', () => {
    const r = e3(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });
});
