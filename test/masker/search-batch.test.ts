import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { tempDir } from '../helpers/files.js';
import { runGraph, teacherGraph } from '../helpers/graphs.js';

describe('masker.search batch size', function () {
  this.timeout(120000);

  it('a searchBatchSize beyond the calibration examples is clamped to them, with a log line', () => {
    const search = [
      '  search:',
      '    plugin: masker.search',
      '    params: { pruneRatio: 0.25, steps: 2, restarts: 1, refineRounds: 0, calibration: 16,',
      '      searchBatchSize: 100000,',
      '      init: { component: importance.zeros } }',
      '    in: { model: teacher.model, data: data.data, targets: targets.targets }',
    ].join('\n');
    const data = '{ plugin: data.arithmetic, params: { maxOperand: 9 } }';
    const r = runGraph(teacherGraph(data, join(tempDir(), 'cache'), search));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.log, /searchBatchSize 100000 is more than the 16 calibration examples; each step uses all 16/);
    assert.match(r.log, /search: removes \d+,\d+/);
  });
});
