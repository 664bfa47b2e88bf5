import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { GraphError, loadGraph, deepMerge, parsePath, applySet } from '@e3/core';
import { writeFiles } from '../helpers/files.js';

function problems(fn: () => unknown): string[] {
  try { fn(); } catch (e) { if (e instanceof GraphError) return e.diagnostics.map((d) => `${d.file?.split('/').pop()}:${d.line ?? '-'}:${d.col ?? '-'} ${d.message}`); throw e; }
  assert.fail('expected a GraphError');
}

describe('graph loading', () => {
  it('deep-merges objects and replaces arrays', () => {
    assert.deepEqual(deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, e: 2 }), { a: { b: 1, c: [3] }, d: 1, e: 2 });
  });

  it('parses dotted paths with numeric indices', () => {
    assert.deepEqual(parsePath('nodes.a.params.loss.0.weight'), ['nodes', 'a', 'params', 'loss', 0, 'weight']);
  });

  it('interpolates ${vars} keeping the type of whole references', () => {
    const dir = writeFiles({ 'g.yaml': 'apiVersion: e3/v1\nvars: { k: 9, name: x }\nnodes:\n  a: { plugin: test.source, params: { n: "${vars.k}", label: "run-${vars.name}-${vars.k}" } }\n' });
    const g = loadGraph(join(dir, 'g.yaml'));
    assert.equal(g.spec.nodes.a.params!.n, 9);
    assert.equal(g.spec.nodes.a.params!.label, 'run-x-9');
  });

  it('reports an unknown variable at its line and column', () => {
    const dir = writeFiles({ 'g.yaml': 'apiVersion: e3/v1\nnodes:\n  a:\n    plugin: test.source\n    params: { n: "${vars.missing}" }\n' });
    const p = problems(() => loadGraph(join(dir, 'g.yaml')));
    assert.equal(p.length, 1);
    assert.match(p[0], /^g\.yaml:5:18 unknown variable/);
  });

  it('applies extends, then the overlay set, then --set, in that order', () => {
    const dir = writeFiles({
      'base.yaml': 'apiVersion: e3/v1\nnodes:\n  a: { plugin: test.source, params: { values: [1], x: 1 } }\n  b: { plugin: test.map, params: { op: { component: op.add, n: 2 } }, in: { in: a.out } }\n',
      'sub/over.yaml': 'extends: ../base.yaml\nset:\n  nodes.a.params.x: 5\n  nodes.b.params.op.component: op.mul\n',
    });
    const g = loadGraph(join(dir, 'sub/over.yaml'), { sets: ['nodes.a.params.values=[4, 5]', 'nodes.b.params.op.n=3'] });
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
    assert.deepEqual(g.sources.locate(['nodes', 'a', 'params', 'v']), { file: g.sources.locate(['nodes', 'a', 'params', 'v'])!.file, line: 3, col: 24 });
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
    const dir = writeFiles({ 'g.yaml': 'apiVersion: e3/v1\nnodes:\n  a: { plugin: x }\n  a: { plugin: y }\n  b: [1, 2\n' });
    const p = problems(() => loadGraph(join(dir, 'g.yaml')));
    assert.ok(p.length >= 2, p.join('\n'));
    assert.ok(p.some((x) => /^g\.yaml:4:3 .*[Mm]ap keys must be unique/.test(x)), p.join('\n'));
    assert.ok(p.some((x) => /^g\.yaml:5:/.test(x) || /^g\.yaml:6:/.test(x)), p.join('\n'));
  });

  it('rejects bad --set paths with a suggestion', () => {
    const dir = writeFiles({ 'g.yaml': 'apiVersion: e3/v1\nnodes:\n  search: { plugin: test.source }\n' });
    const p = problems(() => loadGraph(join(dir, 'g.yaml'), { sets: ['nodes.serch.params.x=1', 'nodez.search=1', 'noequals', 'nodes.search.parms.x=1'] }));
    assert.equal(p.length, 4);
    assert.match(p[0], /no node "serch".*/);
    assert.match(p[1], /unknown top-level key "nodez"/);
    assert.match(p[2], /expected path=value/);
    assert.match(p[3], /nodes have no field "parms"/);
  });

  it('refuses to set below a scalar', () => {
    const root = { nodes: { a: { params: { x: 1 } } } };
    let msg = '';
    assert.equal(applySet(root, ['nodes', 'a', 'params', 'x', 'y'], 2, (m) => { msg = m; }), false);
    assert.match(msg, /is a number, not a mapping/);
  });
});
