import { strict as assert } from 'node:assert';
import { existsSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Container } from 'inversify';
import {
  GraphError,
  loadGraph,
  Registry,
  validateGraph,
  didYouMean,
  toposort,
  manifestModule,
  UserError,
} from '@e3/core';
import { testModule, testPlugins } from '../helpers/test-plugins.js';
import { e3, writeFiles } from '../helpers/files.js';

function registry(): Registry {
  const c = new Container({ autobind: true });
  c.load(testModule);
  return new Registry(c);
}

function check(yaml: string): string[] {
  const dir = writeFiles({ 'g.yaml': yaml });
  try {
    validateGraph(loadGraph(join(dir, 'g.yaml')), registry());
  } catch (e) {
    if (e instanceof GraphError)
      return e.diagnostics.map(
        (d) =>
          `${d.line ?? '-'}:${d.col ?? '-'} ${d.node ? `[${d.node}] ` : ''}${d.message}${d.fix ? ` | ${d.fix}` : ''}`,
      );
    throw e;
  }
  return [];
}

const head = 'apiVersion: e3/v1\nnodes:\n';

describe('graph validation', () => {
  it('accepts a valid graph and fills defaults from the plugin and component schemas', () => {
    const dir = writeFiles({
      'g.yaml':
        head +
        '  a: { plugin: test.source }\n  b: { plugin: test.map, in: { in: a.out } }\n  c: { plugin: test.sink, in: { in: b.out } }\n',
    });
    const g = validateGraph(loadGraph(join(dir, 'g.yaml')), registry());
    assert.deepEqual(g.order, ['a', 'b', 'c']);
    assert.deepEqual(g.spec.nodes.a.params, { values: [1, 2, 3] });
    assert.deepEqual(g.spec.nodes.b.params, { op: { component: 'op.add', n: 0 }, steps: 1 });
    assert.equal(g.spec.seed, 0);
  });

  it('suggests the nearest plugin name', () => {
    const p = check(head + '  a: { plugin: test.sorce }\n');
    assert.deepEqual(p, [
      '3:16 [a] unknown plugin "test.sorce" | did you mean "test.source"? (list them with: e3 plugins)',
    ]);
  });

  it('reports schema violations at the offending value', () => {
    const p = check(
      head + '  a:\n    plugin: test.map\n    params:\n      steps: 0\n      stpes: 2\n    in: { in: a.out }\n',
    );
    assert.ok(
      p.some((x) => /^6:14 \[a\] "steps" must be >= 1/.test(x)),
      p.join('\n'),
    );
    assert.ok(
      p.some((x) => /^7:14 \[a\] unknown field "stpes" \| did you mean "steps"\?/.test(x)),
      p.join('\n'),
    );
  });

  it('checks components: unknown name, wrong kind, their own params', () => {
    const p = check(
      head +
        '  s: { plugin: test.source }\n  a: { plugin: test.map, params: { op: { component: op.ad } }, in: { in: s.out } }\n  b: { plugin: test.map, params: { op: { component: op.mul } }, in: { in: s.out } }\n  c: { plugin: test.map, params: { op: 3 }, in: { in: s.out } }\n',
    );
    assert.ok(
      p.some((x) => /^4:53 \[a\] unknown component "op.ad" \| did you mean "op.add"\?/.test(x)),
      p.join('\n'),
    );
    assert.ok(
      p.some((x) => /\[b\] op.mul: missing required field "n"/.test(x)),
      p.join('\n'),
    );
    assert.ok(
      p.some((x) => /\[c\] expected a op component/.test(x)),
      p.join('\n'),
    );
  });

  it('reports wires to missing nodes and ports, type mismatches, unused and missing inputs — all at once', () => {
    const p = check(
      head +
        [
          '  s: { plugin: test.source }',
          '  t: { plugin: test.text }',
          '  a: { plugin: test.map, in: { in: sx.out } }',
          '  b: { plugin: test.map, in: { in: s.ou } }',
          '  c: { plugin: test.map, in: { in: t.out } }',
          '  d: { plugin: test.map, in: { in: s.out, inn: s.out } }',
          '  e: { plugin: test.sink }',
        ].join('\n') +
        '\n',
    );
    assert.equal(p.length, 5, p.join('\n'));
    assert.match(p[0], /^5:36 \[a\] wire "sx.out" names a missing node "sx" \| did you mean "s"\?/);
    assert.match(p[1], /^6:36 \[b\] node "s" \(test.source\) has no output port "ou" \| did you mean "out"\?/);
    assert.match(p[2], /^7:36 \[c\] port type mismatch: t.out is Text but c.in takes Number/);
    assert.match(
      p[3],
      /^8:48 \[d\] plugin test.map has no input port "inn", so this wire would be unused \| did you mean "in"\?/,
    );
    assert.match(p[4], /^9:6 \[e\] missing required input "in" \(Number\)/);
  });

  it('names cycles', () => {
    const p = check(
      head +
        '  a: { plugin: test.map, in: { in: c.out } }\n  b: { plugin: test.map, in: { in: a.out } }\n  c: { plugin: test.map, in: { in: b.out } }\n',
    );
    assert.equal(p.length, 1);
    assert.match(p[0], /cycle: (a → b → c → a|b → c → a → b|c → a → b → c)/);
  });

  it('rejects a wrong apiVersion and unknown top-level keys', () => {
    const p = check('apiVersion: e3/v2\nnodez: {}\nnodes:\n  a: { plugin: test.source }\n');
    assert.ok(
      p.some((x) => /^1:13 .*"apiVersion" must be "e3\/v1"/.test(x)),
      p.join('\n'),
    );
    assert.ok(
      p.some((x) => /unknown field "nodez"/.test(x)),
      p.join('\n'),
    );
  });

  it('refuses duplicate registry keys and malformed keys', () => {
    const c = new Container({ autobind: true });
    c.load(testModule, manifestModule([testPlugins[0]]));
    assert.throws(
      () => new Registry(c),
      (e: unknown) => e instanceof UserError && /duplicate registry key "test.source"/.test(e.message),
    );
    const d = new Container({ autobind: true });
    d.load(manifestModule([{ ...testPlugins[0], key: 'Bad_Key' }]));
    assert.throws(() => new Registry(d), /must look like domain.camelName/);
  });
});

describe('did-you-mean and toposort', () => {
  it('suggests close names only', () => {
    assert.equal(didYouMean('sampler.gumbelTopK', ['sampler.gumbelTopk', 'loss.akl']), 'sampler.gumbelTopk');
    assert.equal(didYouMean('zzz', ['sampler.gumbelTopk']), undefined);
  });

  it('orders producers first, keeping declaration order among independent nodes', () => {
    const deps = new Map([
      ['c', ['a', 'b']],
      ['b', ['a']],
      ['d', []],
    ]);
    assert.deepEqual(toposort(['c', 'b', 'a', 'd'], deps).order, ['a', 'd', 'b', 'c']);
  });

  it('finds every separate cycle', () => {
    const deps = new Map([
      ['a', ['b']],
      ['b', ['a']],
      ['c', ['d']],
      ['d', ['c']],
      ['e', []],
    ]);
    const { cycles } = toposort(['a', 'b', 'c', 'd', 'e'], deps);
    assert.equal(cycles.length, 2);
  });
});

describe('e3 validate: input paths in params (x-path) and the backend field (CLI)', function () {
  this.timeout(60000);
  const graph = (teacher: string, data: string) => `apiVersion: e3/v1
vars: { teacher: ${teacher} }
nodes:
  data: { plugin: data.jsonl, params: { path: ${data} } }
  teacher: { plugin: model.hfCheckpoint, params: { path: "\${vars.teacher}" } }
`;

  function problems(args: string[]): string {
    const r = e3(args);
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
    return r.stderr;
  }

  it('reports a missing teacher directory and a data path that is a directory at their params, before running', () => {
    const dir = writeFiles({ 'g.yaml': graph('models/nope', '.') });
    const out = join(dir, 'run');
    for (const args of [
      ['validate', join(dir, 'g.yaml')],
      ['run', join(dir, 'g.yaml'), '--out', out, '--quiet'],
    ]) {
      const err = problems(args);
      assert.match(err, /^e3: 2 problems in the graph:\n/);
      assert.ok(
        err.includes(
          'g.yaml:4:47: node "data" field "params.path": file "." is a directory, not a file' +
            ' (fix: give the path of a file)',
        ),
        err,
      );
      assert.ok(
        err.includes(
          'g.yaml:5:58: node "teacher" field "params.path": directory "models/nope" not found' +
            ' (fix: check the path; relative paths start at the working directory)',
        ),
        err,
      );
    }
    assert.ok(!existsSync(out));
  });

  it('a teacher directory must hold config.json; a symlink loop is named as one', () => {
    const dir = writeFiles({ 'm/README.md': 'not a checkpoint\n', 'd.jsonl': '{"text": "x"}\n' });
    symlinkSync(join(dir, 'loop'), join(dir, 'loop'));
    writeFileSync(join(dir, 'g.yaml'), graph(join(dir, 'm'), join(dir, 'loop')));
    const err = problems(['validate', join(dir, 'g.yaml')]);
    const teacher = `directory "${join(dir, 'm')}" has no config.json (fix: give a directory that holds config.json)`;
    assert.ok(err.includes(`g.yaml:5:58: node "teacher" field "params.path": ${teacher}`), err);
    const data = `file "${join(dir, 'loop')}" cannot be opened: symlink loop (fix: fix or remove the symlink`;
    assert.ok(err.includes(`g.yaml:4:47: node "data" field "params.path": ${data}`), err);
  });

  it('passes when the paths exist (relative to the working directory)', () => {
    const dir = writeFiles({ 'd.jsonl': '{"text": "x"}\n' });
    writeFileSync(join(dir, 'g.yaml'), graph('models/arith-teacher', join(dir, 'd.jsonl')));
    const r = e3(['validate', join(dir, 'g.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ok \(2 nodes/);
  });

  it('an unknown backend: in a graph is located, with the near name', () => {
    const yaml = 'apiVersion: e3/v1\nbackend: wams\nnodes:\n  a: { plugin: data.arithmetic }\n';
    const dir = writeFiles({ 'g.yaml': yaml });
    const err = problems(['validate', join(dir, 'g.yaml')]);
    const allowed = '"auto", "tensorflow", "webgpu", "wasm", "cpu"';
    const line = `g.yaml:2:10: field "backend": "backend" must be one of ${allowed} (fix: did you mean "wasm"?)`;
    assert.ok(err.includes(line), err);
  });
});
