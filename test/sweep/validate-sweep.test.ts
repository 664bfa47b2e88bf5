import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { e3, ROOT, writeFiles } from '../helpers/files.js';

const QUICKSTART = join(ROOT, 'graphs/quickstart.yaml');

/**
 * A pre-flight check from a --plugin module: refuses more than 50 search steps, located where the
 * value was written (as the memory plan locates its refusals).
 */
const STEP_CHECK = `import { preflightModule } from '@e3/core';
const at = ['nodes', 'search', 'params', 'steps'];
export default preflightModule({
  name: 'steps',
  check: ({ graph, loaded }) => {
    const steps = graph.spec.nodes.search.params.steps;
    const problems = steps > 50
      ? [{ ...loaded.sources.locate(at), node: 'search', field: 'params.steps', message: 'too many steps' }]
      : [];
    return { title: 'step check', text: 'search steps: ' + steps, json: { steps }, problems };
  },
});
`;

/** A directory holding `s.yaml` (a sweep over the quickstart graph with `body`) and other `files`. */
function sweepDir(body: string, files: Record<string, string> = {}): string {
  return writeFiles({ 's.yaml': `apiVersion: e3/v1\nkind: Sweep\ngraph: ${QUICKSTART}\n${body}`, ...files });
}

describe('e3 validate and e3 plan on sweep files', () => {
  it('every shipped sweep file in graphs/sweeps passes, one ok line per point', () => {
    const files = readdirSync(join(ROOT, 'graphs/sweeps')).filter((f) => /\.ya?ml$/.test(f));
    assert.ok(files.length >= 2);
    for (const f of files) {
      const r = e3(['validate', join('graphs/sweeps', f)]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.match(lines.at(-1)!, new RegExp(`graphs/sweeps/${f}: ok \\((\\d+) points?, \\d+ distinct graphs?\\)`));
      const points = Number(/ok \((\d+) point/.exec(lines.at(-1)!)![1]);
      assert.equal(lines.length, points + 1);
      for (const line of lines.slice(0, -1)) assert.match(line, /^\S+,seed=\d+: ok \(8 nodes\)$/);
    }
  });

  it("a bad grid key fails every point at the key's line in the sweep file", () => {
    const dir = sweepDir('grid:\n  nodes.serch.params.steps:\n    - 5\n    - 6\nseeds: [0, 1]\n');
    const r = e3(['validate', join(dir, 's.yaml')]);
    assert.equal(r.code, 1);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^steps=5,seed=0: 1 problem$/);
    assert.match(
      lines[1],
      /s\.yaml:5:3: field "grid\.nodes\.serch\.params\.steps": no node "serch" to set \(fix: did you mean "search"\?/,
    );
    assert.deepEqual(lines.slice(2), [
      'steps=5,seed=1: 1 problem (as steps=5,seed=0)',
      'steps=6,seed=0: 1 problem (as steps=5,seed=0)',
      'steps=6,seed=1: 1 problem (as steps=5,seed=0)',
    ]);
    assert.match(r.stderr, /s\.yaml: 4 of 4 points failed validation/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it("a grid value that breaks the graph's schema is reported at its line; the other points pass", () => {
    const dir = sweepDir('grid:\n  nodes.search.params.steps:\n    - 10\n    - -1\n');
    const r = e3(['validate', join(dir, 's.yaml')]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^steps=10,seed=0: ok \(8 nodes\)\nsteps=-1,seed=0: 1 problem\n/);
    assert.match(
      r.stdout,
      /s\.yaml:7:7: node "search" field "grid\.nodes\.search\.params\.steps\.1": "steps" must be >= 1/,
    );
    assert.match(r.stderr, /1 of 2 points failed validation/);
    const j = e3(['validate', join(dir, 's.yaml'), '--json']);
    assert.equal(j.code, 1);
    const out = JSON.parse(j.stdout);
    assert.equal(out.ok, false);
    assert.deepEqual(
      out.points.map((p: { id: string; ok: boolean }) => [p.id, p.ok]),
      [
        ['steps=10,seed=0', true],
        ['steps=-1,seed=0', false],
      ],
    );
    assert.equal(out.points[0].nodes.length, 8);
    assert.deepEqual(
      {
        line: out.points[1].problems[0].line,
        col: out.points[1].problems[0].col,
        node: out.points[1].problems[0].node,
      },
      { line: 7, col: 7, node: 'search' },
    );
  });

  it('schema problems in the sweep file, and problems in the graph, are located in their own file', () => {
    const bad = sweepDir('seeds: [0, -1]\n');
    const r = e3(['validate', join(bad, 's.yaml')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /1 problem in the sweep:\n {2}\S*s\.yaml:4:12: field "seeds\.1": "seeds\.1" must be >= 0/);
    const kind = writeFiles({ 's.yaml': `apiVersion: e3/v1\nkind: Sweeep\ngraph: ${QUICKSTART}\n` });
    const k = e3(['validate', join(kind, 's.yaml')]);
    assert.match(k.stderr, /1 problem in the sweep:\n {2}\S*s\.yaml:2:7: field "kind": "kind" must be "Sweep"/);
    const j = JSON.parse(e3(['validate', join(bad, 's.yaml'), '--json']).stdout);
    assert.equal(j.ok, false);
    assert.equal(j.problems[0].line, 4);
    const dir = writeFiles({
      's.yaml': 'apiVersion: e3/v1\nkind: Sweep\ngraph: g.yaml\ngrid: { nodes.distill.params.lr: [0.001] }\n',
      'g.yaml': `extends: ${QUICKSTART}\nset:\n  nodes.search.params.stepz: 3\n`,
    });
    const g = e3(['validate', join(dir, 's.yaml')]);
    assert.equal(g.code, 1);
    assert.match(g.stdout, /^lr=0\.001,seed=0: 1 problem\n {2}\S*g\.yaml:3:\d+: node "search".*stepz/);
  });

  it('the pre-flight checks run at every point, and e3 plan prints them once per distinct graph', () => {
    const dir = sweepDir('grid:\n  nodes.search.params.steps: [10, 60]\nseeds: [0, 1]\n', { 'check.mjs': STEP_CHECK });
    const s = join(dir, 's.yaml');
    const r = e3(['validate', s, '--plugin', join(dir, 'check.mjs')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /steps=10,seed=1: ok/);
    assert.match(r.stdout, /steps=60,seed=0: 1 problem\n {2}\S*s\.yaml:5:35: node "search" .*too many steps/);
    assert.match(r.stdout, /steps=60,seed=1: 1 problem \(as steps=60,seed=0\)/);
    const p = e3(['plan', s, '--plugin', join(dir, 'check.mjs')]);
    assert.equal(p.code, 1, p.stderr);
    assert.match(p.stdout, /s\.yaml: 4 points, 2 distinct graphs/);
    assert.match(p.stdout, /== steps=10,seed=0, steps=10,seed=1\n.*--set nodes\.search\.params\.steps=10\n/);
    assert.match(p.stdout, /memory plan\n/);
    assert.match(p.stdout, /step check\nsearch steps: 10\n/);
    assert.match(p.stdout, /step check\nsearch steps: 60\n1 problem:\n {2}\S*s\.yaml:5:35: .*too many steps/);
    const j = JSON.parse(e3(['plan', s, '--plugin', join(dir, 'check.mjs'), '--json']).stdout);
    assert.deepEqual(
      j.plans.map((x: { points: string[]; ok: boolean }) => [x.points, x.ok]),
      [
        [['steps=10,seed=0', 'steps=10,seed=1'], true],
        [['steps=60,seed=0', 'steps=60,seed=1'], false],
      ],
    );
    assert.deepEqual(j.plans[0].reports['step check'], { steps: 10 });
    assert.ok(j.plans[0].reports['memory plan']);
  });
});
