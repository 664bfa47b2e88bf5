import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { e3, tempDir, writeFiles } from '../helpers/files.js';
import { arithGraphHead, quickDistill, quickEval, validateGraphText } from '../helpers/arith-graph.js';

/** Distillation of the shipped teacher with one layer dropped, a few steps, with the given loss list. */
function graph(cache: string, loss: string): string {
  return `${arithGraphHead(cache)}  pruned: { plugin: model.prune, params: { drop: [3] }, in: { model: teacher.model } }
  distill:
${quickDistill('    ', `, loss: [${loss}]`)}  eval:
${quickEval('    ', 'model: distill.model, data: data.data, metrics: distill.metrics')}`;
}

describe('loss instances get distinct names', function () {
  this.timeout(300000);

  it('two instances of one loss keep separate histories (index names), summed with their weights', () => {
    const work = tempDir();
    const loss = '{ component: loss.forwardKl, weight: 1.0 }, { component: loss.forwardKl, weight: 0.5 }';
    const dir = writeFiles({ 'g.yaml': graph(join(work, 'cache'), loss) });
    const r = e3(['run', join(dir, 'g.yaml'), '--out', join(work, 'run'), '--progress', 'none']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(join(work, 'run', 'report.json'), 'utf8'));
    const rows = report.training.history as Record<string, number>[];
    assert.ok(rows.length > 0);
    for (const row of rows) {
      assert.ok('forwardKl[0]' in row && 'forwardKl[1]' in row, JSON.stringify(row));
      assert.ok(!('forwardKl' in row), JSON.stringify(row));
      // Both are the same unweighted term; the total is 1·x + 0.5·x.
      assert.ok(Math.abs(row['forwardKl[0]'] - row['forwardKl[1]']) < 1e-6, JSON.stringify(row));
      assert.ok(Math.abs(row.loss - 1.5 * row['forwardKl[0]']) < 1e-4 * Math.max(1, row.loss), JSON.stringify(row));
    }
  });

  it('one name given twice in a list is a located error with a fix', () => {
    const cache = join(tempDir(), 'cache');
    const loss = '{ component: loss.forwardKl, name: kl }, { component: loss.reverseKl, name: kl, weight: 0.5 }';
    const text = graph(cache, loss);
    const { r, where } = validateGraphText(text);
    const n = where('reverseKl, name: kl').split(':')[1];
    assert.equal(r.code, 1);
    assert.ok(
      r.stderr.includes(
        `${where('reverseKl, name: kl', 'kl, weight')}: node "distill" field "params.loss.1.name": ` +
          'name "kl" is also the name of item 0 of this list; their histories and plots would overwrite each other (fix: give item 1 a name no other item has',
      ),
      r.stderr,
    );
    // A name that is not an identifier is refused by the schema, located too.
    const bad = writeFiles({ 'g.yaml': text.replace('reverseKl, name: kl', 'reverseKl, name: "k l"') });
    const b = e3(['validate', join(bad, 'g.yaml')]);
    assert.equal(b.code, 1);
    assert.match(b.stderr, new RegExp(`g\\.yaml:${n}:\\d+: node "distill" field "params\\.loss\\.1\\.name"`));
  });
});
