import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadSweepFile, setArg, shortLabels } from '@e3/cli';
import { e3, ROOT, tempDir, writeFiles } from '../helpers/files.js';

const QUICKSTART = join(ROOT, 'graphs/quickstart.yaml');

/** `e3 sweep` on a sweep file with `text`; returns the result and whether the sweep directory appeared. */
function sweepOf(text: string) {
  const file = join(writeFiles({ 'sweep.yaml': text }), 'sweep.yaml');
  const out = join(tempDir(), 'sweep');
  return { ...e3(['sweep', file, '--out', out]), wrote: existsSync(out) };
}

describe('sweep files', () => {
  it("expands the issue's minimal file: grid × seeds, named by settings, graph relative to the file", () => {
    const dir = writeFiles({
      'sweeps/s.yaml':
        'apiVersion: e3/v1\nkind: Sweep\ngraph: ../graphs/g.yaml\nset: { nodes.search.params.steps: 6 }\n' +
        'grid:\n  nodes.search.params.sampler.component: [sampler.gumbelTopk, sampler.deterministicTopk]\n' +
        'seeds: [0, 1]\n',
      'graphs/g.yaml': 'apiVersion: e3/v1\nnodes: {}\n',
    });
    const plan = loadSweepFile(join(dir, 'sweeps/s.yaml'));
    assert.equal(plan.graph, join(dir, 'graphs/g.yaml'));
    assert.deepEqual(
      plan.points.map((p) => p.id),
      [
        'component=sampler.gumbelTopk,seed=0',
        'component=sampler.gumbelTopk,seed=1',
        'component=sampler.deterministicTopk,seed=0',
        'component=sampler.deterministicTopk,seed=1',
      ],
    );
    assert.deepEqual(plan.points[2].sets, [
      'nodes.search.params.steps=6',
      'nodes.search.params.sampler.component=sampler.deterministicTopk',
    ]);
    assert.deepEqual(plan.swept, ['nodes.search.params.sampler.component']);
  });

  it('overlays multiply the grid; values that YAML would misread are passed as JSON', () => {
    const dir = writeFiles({
      's.yaml':
        `apiVersion: e3/v1\nkind: Sweep\ngraph: ${QUICKSTART}\n` +
        'overlays:\n  - { name: a, set: { nodes.search.params.refineRounds: 0 } }\n  - { name: b }\n' +
        'grid: { nodes.distill.params.lr: [0.001, 0.002] }\n',
    });
    const plan = loadSweepFile(join(dir, 's.yaml'));
    assert.equal(plan.points.length, 4);
    assert.equal(plan.points[0].id, 'overlay=a,lr=0.001,seed=0');
    assert.equal(setArg('vars.x', '12'), 'vars.x="12"');
    const own = loadSweepFile(join(ROOT, 'bench/sweeps/mask-quality.yaml'));
    const search = own.points.filter((p) => p.settings.overlay === 'e3-search');
    assert.deepEqual(
      search.map((p) => [p.seed, p.graph]),
      [0, 1, 2].map((s) => [s, join(ROOT, 'bench/search-eval.yaml')]),
    );
    assert.equal(
      own.points.filter((p) => p.settings.overlay === 'sleb').length,
      1,
      "an overlay's seeds replace the sweep's",
    );
    assert.equal(loadSweepFile(join(ROOT, 'bench/sweeps/mask-quality.yaml'), { seeds: [7] }).points.length, 8);
    assert.equal(setArg('vars.x', { a: [1] }), 'vars.x={"a":[1]}');
    assert.deepEqual(shortLabels(['a.params.lr', 'b.params.lr', 'b.steps']), {
      'a.params.lr': 'a.params.lr',
      'b.params.lr': 'b.params.lr',
      'b.steps': 'steps',
    });
  });

  it('the shipped sweep files are valid (--dry-run checks every point and runs nothing)', () => {
    const files = [
      'graphs/sweeps/samplers.yaml',
      'graphs/sweeps/distill-lr.yaml',
      'bench/sweeps/mask-quality.yaml',
      'bench/sweeps/recovery.yaml',
      'bench/sweeps/search-ablations.yaml',
    ];
    for (const file of files) {
      const r = e3(['sweep', file, '--dry-run']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /: ok \(\d+ points\)/);
    }
  });

  it('schema problems are reported at file:line:col with a fix, nothing is written, no stack trace', () => {
    const r = sweepOf(`apiVersion: e3/v1\nkind: Sweeep\ngraph: ${QUICKSTART}\nseed: [0]\nseeds: [0, -1]\n`);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /sweep\.yaml:2:7: field "kind": "kind" must be "Sweep"/);
    assert.match(r.stderr, /3 problems in the sweep/);
    assert.match(r.stderr, /sweep\.yaml:4:7: field "seed": unknown field "seed" \(fix: did you mean "seeds"\?\)/);
    assert.match(r.stderr, /sweep\.yaml:5:12: field "seeds.1": "seeds.1" must be >= 0/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(r.wrote, false);
  });

  it('a grid value must be a list; a missing graph is named relative to the sweep file', () => {
    const a = sweepOf(`apiVersion: e3/v1\nkind: Sweep\ngraph: ${QUICKSTART}\ngrid:\n  nodes.search.params.steps: 6\n`);
    assert.equal(a.code, 1);
    assert.match(a.stderr, /sweep\.yaml:5:30: field "grid.nodes.search.params.steps": .* must be array/);
    const b = sweepOf('apiVersion: e3/v1\nkind: Sweep\ngraph: graphs/nope.yaml\n');
    assert.match(
      b.stderr,
      /sweep\.yaml:3:8: field "graph": graph graphs\/nope\.yaml not found .*relative to the sweep file/,
    );
    assert.equal(b.wrote, false);
  });

  it('a value that breaks the graph is reported where the sweep file wrote it, once', () => {
    const r = sweepOf(
      `apiVersion: e3/v1\nkind: Sweep\ngraph: ${QUICKSTART}\n` +
        'grid:\n  nodes.search.params.sampler.component: [sampler.gumbelTopk, sampler.gumbelTopkk]\nseeds: [0, 1]\n',
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /1 problem in the sweep:/);
    assert.match(
      r.stderr,
      new RegExp(
        'sweep\\.yaml:5:63: node "search" field "grid\\.nodes\\.search\\.params\\.sampler\\.component\\.1": ' +
          'unknown component "sampler\\.gumbelTopkk".*did you mean "sampler\\.gumbelTopk"',
      ),
    );
    assert.equal(r.wrote, false);
    const s = sweepOf(`apiVersion: e3/v1\nkind: Sweep\ngraph: ${QUICKSTART}\nset: { nodes.serch.params.steps: 6 }\n`);
    assert.match(
      s.stderr,
      new RegExp(
        'sweep\\.yaml:4:8: field "set\\.nodes\\.serch\\.params\\.steps": no node "serch" to set ' +
          '\\(fix: did you mean "search"\\?;',
      ),
    );
  });
});
