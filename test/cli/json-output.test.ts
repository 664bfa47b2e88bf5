import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { e3, tempDir } from '../helpers/files.js';

describe('--json and --svg on validate and describe', () => {
  it('validate --json: the nodes in order, or the problems with file, field and fix (exit 1)', () => {
    const ok = e3(['validate', 'graphs/quickstart.yaml', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout).nodes, [
      'data',
      'teacher',
      'targets',
      'search',
      'pruned',
      'distill',
      'eval',
      'export',
    ]);
    const bad = e3(['validate', 'graphs/quickstart.yaml', '--json', '--set', 'nodes.search.params.stepz=3']);
    assert.equal(bad.code, 1);
    const j = JSON.parse(bad.stdout);
    assert.equal(j.ok, false);
    assert.deepEqual(
      [j.problems[0].node, j.problems[0].field, j.problems[0].fix],
      ['search', 'params.stepz', 'did you mean "steps"?'],
    );
  });

  it('describe --json gives wires, ports and params; --svg draws the graph', () => {
    const svg = join(tempDir(), 'graph.svg');
    const r = e3(['describe', 'graphs/quickstart.yaml', '--json', '--svg', svg]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    const search = j.nodes.find((n: { id: string }) => n.id === 'search');
    assert.equal(search.plugin, 'masker.search');
    assert.equal(search.in.targets, 'targets.targets');
    assert.equal(search.params.steps, 150);
    assert.equal(search.outputs.mask.type, 'Mask');
    const text = readFileSync(svg, 'utf8');
    assert.equal((text.match(/<g class="node">/g) ?? []).length, 8);
    assert.match(text, />masker\.search</);
  });
});
