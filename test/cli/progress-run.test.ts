import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { tempDir } from '../helpers/files.js';
import { reducedQuickstart } from '../helpers/quickstart.js';

describe('e3 run --progress json (through the CLI)', function () {
  this.timeout(300000);

  it('every long node reports done/total and rate as it starts; the search never shows loss=0', () => {
    const r = reducedQuickstart(join(tempDir(), 'run'), ['--progress', 'json', '--progress-every', '0.2']);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    for (const task of ['targets', 'search:init', 'search#0', 'distill', 'eval']) {
      const first = rows.find((x) => x.task === task);
      assert.ok(first, `${task} reports progress`);
      assert.equal(first.done, 0, `${task} reports as it starts`);
      assert.ok(first.total > 0 && typeof first.rate === 'number' && first.what, task);
      assert.ok(
        rows.some((x) => x.task === task && x.finished && x.done === x.total),
        `${task} finishes`,
      );
    }
    assert.ok(
      rows.filter((x) => x.task === 'search#0').every((x) => x.loss === undefined || x.loss > 0),
      'no loss=0',
    );
    const json = reducedQuickstart(join(tempDir(), 'run'), [
      '--quiet',
      '--json',
      '--set',
      'nodes.targets.params.calibration=8',
      // a warm-up that ends within the 6 steps: no recipe warning either
      '--set',
      'nodes.distill.params.warmupSteps=2',
    ]);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(json.stderr, '', '--quiet: nothing on stderr for a run without problems');
    const summary = JSON.parse(json.stdout);
    assert.equal(summary.status, 'succeeded');
    assert.ok(summary.runDir && summary.timings && summary.wallSeconds > 0);
  });
});
