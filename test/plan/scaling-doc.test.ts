import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers/files.js';

describe('docs/SCALING.md', function () {
  this.timeout(60000);
  it('holds the tables bench/scaling-doc.js makes with the estimator of e3 plan', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bench/scaling-doc.js'), '--check'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
  });
});
