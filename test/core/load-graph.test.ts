import { strict as assert } from 'node:assert';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { GraphError, loadGraph, deepMerge, parsePath, applySet } from '@e3/core';
import { e3, tempDir, writeFiles } from '../helpers/files.js';

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof GraphError)
      return e.diagnostics.map((d) => `${d.file?.split('/').pop()}:${d.line ?? '-'}:${d.col ?? '-'} ${d.message}`);
    throw e;
  }
  assert.fail('expected a GraphError');
}

describe('graph loading', () => {
  it('deep-merges objects and replaces arrays', () => {
    assert.deepEqual(deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, e: 2 }), {
      a: { b: 1, c: [3] },
      d: 1,
      e: 2,
    });
  });

  it('parses dotted paths with numeric indices', () => {
    assert.deepEqual(parsePath('nodes.a.params.loss.0.weight'), ['nodes', 'a', 'params', 'loss', 0, 'weight']);
  });

  it('interpolates ${vars} keeping the type of whole references', () => {
    const dir = writeFiles({
      'g.yaml':
        'apiVersion: e3/v1\nvars: { k: 9, name: x }\nnodes:\n  a: { plugin: test.source, params: { n: "${vars.k}", label: "run-${vars.name}-${vars.k}" } }\n',
    });
    const g = loadGraph(join(dir, 'g.yaml'));
    assert.equal(g.spec.nodes.a.params!.n, 9);
    assert.equal(g.spec.nodes.a.params!.label, 'run-x-9');
  });

  it('reports an unknown variable at its line and column', () => {
    const dir = writeFiles({
      'g.yaml': 'apiVersion: e3/v1\nnodes:\n  a:\n    plugin: test.source\n    params: { n: "${vars.missing}" }\n',
    });
    const p = problems(() => loadGraph(join(dir, 'g.yaml')));
    assert.equal(p.length, 1);
    assert.match(p[0], /^g\.yaml:5:18 unknown variable/);
  });

  it('applies extends, then the overlay set, then --set, in that order', () => {
    const dir = writeFiles({
      'base.yaml':
        'apiVersion: e3/v1\nnodes:\n  a: { plugin: test.source, params: { values: [1], x: 1 } }\n  b: { plugin: test.map, params: { op: { component: op.add, n: 2 } }, in: { in: a.out } }\n',
      'sub/over.yaml': 'extends: ../base.yaml\nset:\n  nodes.a.params.x: 5\n  nodes.b.params.op.component: op.mul\n',
    });
    const g = loadGraph(join(dir, 'sub/over.yaml'), {
      sets: ['nodes.a.params.values=[4, 5]', 'nodes.b.params.op.n=3'],
    });
    assert.deepEqual(g.spec.nodes.a.params, { values: [4, 5], x: 5 });
    // changing a component's name replaces the component (its old params belong to the old one)
    assert.deepEqual(g.spec.nodes.b.params!.op, { component: 'op.mul', n: 3 });
  });

  it('locates values that came from an overlay set and from --set', () => {
    const dir = writeFiles({
      'base.yaml': 'apiVersion: e3/v1\nnodes:\n  a: { plugin: test.source }\n',
      'over.yaml': 'extends: base.yaml\nset:\n  nodes.a.params: { v: 1 }\n',
    });
    const g = loadGraph(join(dir, 'over.yaml'), { sets: ['nodes.a.params.w=2'] });
    assert.deepEqual(g.sources.locate(['nodes', 'a', 'params', 'v']), {
      file: g.sources.locate(['nodes', 'a', 'params', 'v'])!.file,
      line: 3,
      col: 24,
    });
    assert.equal(g.sources.locate(['nodes', 'a', 'params', 'w'])!.file, '--set nodes.a.params.w=2');
    assert.equal(g.sources.locate(['nodes', 'a', 'plugin'])!.line, 3);
  });

  it('reports an extends loop naming the chain', () => {
    const dir = writeFiles({ 'a.yaml': 'extends: b.yaml\n', 'b.yaml': 'extends: a.yaml\n' });
    const p = problems(() => loadGraph(join(dir, 'a.yaml')));
    assert.equal(p.length, 1);
    assert.match(p[0], /extends loop: .*a\.yaml → .*b\.yaml → .*a\.yaml/);
  });

  it('reports a missing extended file at the extends key of the file that names it', () => {
    const dir = writeFiles({ 'a.yaml': 'apiVersion: e3/v1\nextends: nope.yaml\n' });
    const p = problems(() => loadGraph(join(dir, 'a.yaml')));
    assert.equal(p.length, 1);
    assert.match(p[0], /^a\.yaml:2:10 extends file nope\.yaml not found$/);
  });

  it('reports YAML syntax errors and duplicate keys with positions, all together', () => {
    const dir = writeFiles({
      'g.yaml': 'apiVersion: e3/v1\nnodes:\n  a: { plugin: x }\n  a: { plugin: y }\n  b: [1, 2\n',
    });
    const p = problems(() => loadGraph(join(dir, 'g.yaml')));
    assert.ok(p.length >= 2, p.join('\n'));
    assert.ok(
      p.some((x) => /^g\.yaml:4:3 .*[Mm]ap keys must be unique/.test(x)),
      p.join('\n'),
    );
    assert.ok(
      p.some((x) => /^g\.yaml:5:/.test(x) || /^g\.yaml:6:/.test(x)),
      p.join('\n'),
    );
  });

  it('rejects bad --set paths with a suggestion', () => {
    const dir = writeFiles({ 'g.yaml': 'apiVersion: e3/v1\nnodes:\n  search: { plugin: test.source }\n' });
    const p = problems(() =>
      loadGraph(join(dir, 'g.yaml'), {
        sets: ['nodes.serch.params.x=1', 'nodez.search=1', 'noequals', 'nodes.search.parms.x=1'],
      }),
    );
    assert.equal(p.length, 4);
    assert.match(p[0], /no node "serch".*/);
    assert.match(p[1], /unknown top-level key "nodez"/);
    assert.match(p[2], /expected path=value/);
    assert.match(p[3], /nodes have no field "parms"/);
  });

  it('refuses to set below a scalar', () => {
    const root = { nodes: { a: { params: { x: 1 } } } };
    let msg = '';
    assert.equal(
      applySet(root, ['nodes', 'a', 'params', 'x', 'y'], 2, (m) => {
        msg = m;
      }),
      false,
    );
    assert.match(msg, /is a number, not a mapping/);
  });
});

describe('e3 validate / run: bad graph paths (CLI)', function () {
  this.timeout(60000);

  /** One located problem, exit 1, no stack trace. */
  function oneProblem(args: string[], line: RegExp | string): void {
    const r = e3(args);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^e3: 1 problem in the graph:\n/);
    if (typeof line === 'string') assert.ok(r.stderr.includes(line), r.stderr);
    else assert.match(r.stderr, line);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  }

  it('a directory as the graph names a graph file in it', () => {
    const dir = writeFiles({ 'b.yaml': 'apiVersion: e3/v1\n', 'a.yaml': 'apiVersion: e3/v1\n' });
    const line = /\n {2}\S+: graph file is a directory, not a file \(fix: name a graph file in it, e\.g\. \S+\/a\.yaml/;
    oneProblem(['validate', dir], line);
    oneProblem(['run', `${dir}/`, '--quiet'], line);
  });

  it('a symlink loop and a dangling symlink as the graph say so', () => {
    const dir = tempDir();
    symlinkSync(join(dir, 'b.yaml'), join(dir, 'a.yaml'));
    symlinkSync(join(dir, 'a.yaml'), join(dir, 'b.yaml'));
    symlinkSync(join(dir, 'gone.yaml'), join(dir, 'dangling.yaml'));
    const a = join(dir, 'a.yaml');
    const fix = `fix or remove the symlink; ls -l ${a} shows where it points`;
    oneProblem(['validate', a], `${a}: graph file cannot be opened: symlink loop (fix: ${fix})`);
    const gone = `it is a symlink to ${join(dir, 'gone.yaml')}, which does not exist`;
    const dangling = join(dir, 'dangling.yaml');
    oneProblem(['run', dangling], `${dangling}: graph file not found: ${gone} (fix: fix the symlink)`);
  });

  it('a missing graph file says where relative paths start', () => {
    const fix = 'check the path; relative paths start at the working directory';
    oneProblem(['validate', 'graphs/nope.yaml'], `\n  graphs/nope.yaml: graph file not found (fix: ${fix})\n`);
  });

  it('a missing extends file is reported at the extends key of the file that names it', () => {
    const dir = writeFiles({ 'sub/a.yaml': 'apiVersion: e3/v1\n# an overlay\nextends: ../nope.yaml\n' });
    const fix = `extends paths are relative to the file that names them; this one is ${join(dir, 'nope.yaml')}`;
    const at = `sub/a.yaml:3:10: field "extends": extends file ../nope.yaml not found (fix: ${fix})`;
    oneProblem(['validate', join(dir, 'sub/a.yaml')], at);
  });

  it('an extends that names a directory is reported at the key too', () => {
    const dir = writeFiles({ 'a.yaml': 'apiVersion: e3/v1\nextends: .\n' });
    const at = 'a.yaml:2:10: field "extends": extends file . is a directory, not a file (fix: give the path of a file)';
    oneProblem(['validate', join(dir, 'a.yaml')], at);
  });
});
