import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { e3, ROOT, writeFiles } from '../helpers/files.js';

describe('overlays that add nodes', () => {
  const base = join(ROOT, 'examples', 'stats.yaml');

  it('set: on a node that does not exist says how to add one', () => {
    const dir = writeFiles({ 'o.yaml': `extends: ${base}\nset:\n  nodes.show.plugin: example.summary\n` });
    const r = e3(['validate', join(dir, 'o.yaml')]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /no node "show" to set.*to add node "show", write it under nodes: in this file \(nodes: \{ show: \{ plugin: …/,
    );
  });

  it("a nodes: block in an overlay adds a node wired to the base graph's nodes", () => {
    const dir = writeFiles({
      'o.yaml':
        `extends: ${base}\nnodes:\n  show: { plugin: example.summary, params: { file: show.json }, ` +
        'in: { values: numbers.values } }\n',
    });
    const r = e3(['validate', join(dir, 'o.yaml'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).nodes.includes('show'));
  });
});
