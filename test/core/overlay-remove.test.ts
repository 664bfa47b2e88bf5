import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { e3, ROOT, writeFiles } from '../helpers/files.js';

/** The block `e3 describe` prints for node `id` (up to the next node's line or a blank line). */
function nodeBlock(describe: string, id: string): string {
  const at = describe.indexOf(`\n${id}: `);
  assert.ok(at >= 0, `no node ${id} in:\n${describe}`);
  const next = describe.slice(at + 1).search(/\n[a-z][\w-]*: |\n\n/);
  return describe.slice(at + 1, next < 0 ? undefined : at + 1 + next);
}

describe('overlays that remove', function () {
  this.timeout(120000);
  const quickstart = join(ROOT, 'graphs', 'quickstart.yaml');

  it('--set …=null deletes a wire, a param and a node; validation checks what remains', () => {
    const r = e3(['describe', quickstart, '--set', 'nodes.eval.in.search=null', '--set', 'nodes.export=null']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(nodeBlock(r.stdout, 'eval'), /← search\.metrics/);
    assert.doesNotMatch(r.stdout, /\nexport: /);
    // warmupSteps deleted: the distiller's default (20) instead of the base graph's 40.
    const d = e3(['describe', quickstart, '--set', 'nodes.distill.params.warmupSteps=null']);
    assert.match(nodeBlock(d.stdout, 'distill'), /warmupSteps: 20\n/);
    assert.match(nodeBlock(e3(['describe', quickstart]).stdout, 'distill'), /warmupSteps: 40\n/);
    // Deleting a node that others read from: the wires that name it are located errors.
    const v = e3(['validate', quickstart, '--set', 'nodes.search=null']);
    assert.equal(v.code, 1);
    assert.match(
      v.stderr,
      /e3-pruner.yaml:\d+:\d+: node "pruned" field "in.mask": wire "search.mask" names a missing node "search"/,
    );
  });

  it('an overlay file deletes with null, as --set does', () => {
    const dir = writeFiles({
      'o.yaml': `extends: ${quickstart}\nnodes:\n  eval: { in: { search: null } }\n  export: null\n`,
    });
    const r = e3(['describe', join(dir, 'o.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(nodeBlock(r.stdout, 'eval'), /← search\.metrics/);
    assert.doesNotMatch(r.stdout, /\nexport: /);
  });

  it("swapping a node's plugin drops the old plugin's params, keeping those set with the swap", () => {
    const data = join(writeFiles({ 'd.jsonl': '{"prompt":"1+1=","answer":"2"}\n'.repeat(40) }), 'd.jsonl');
    const dir = writeFiles({
      'base.yaml': `extends: ${quickstart}\nnodes:\n  data: { plugin: data.arithmetic, params: { maxOperand: 50 } }\n`,
      'swap.yaml': `extends: base.yaml\nnodes:\n  data: { plugin: data.jsonl, params: { path: ${data} } }\n`,
    });
    // --set: the param may come before the swap.
    const sets = ['--set', `nodes.data.params.path=${data}`, '--set', 'nodes.data.plugin=data.jsonl'];
    for (const args of [[join(dir, 'base.yaml'), ...sets], [join(dir, 'swap.yaml')]]) {
      const r = e3(['describe', ...args]);
      assert.equal(r.code, 0, r.stderr);
      const block = nodeBlock(r.stdout, 'data');
      assert.match(block, /^data: data\.jsonl/);
      assert.match(block, new RegExp(`path: ${data.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
      assert.doesNotMatch(block, /maxOperand/);
    }
  });
});
