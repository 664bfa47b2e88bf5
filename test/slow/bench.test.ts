import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers/files.js';

/** Smoke runs of every benchmark script (`--quick`); slow, so only with E3_SLOW=1 (npm run test:slow). */
(process.env.E3_SLOW ? describe : describe.skip)('benchmarks (slow suite)', function () {
  this.timeout(1800000);
  const scripts = ['mask-quality.js', 'recovery.js', 'search-ablations.js', 'speed.js', 'throughput.js', 'scale.js'];
  for (const script of scripts) {
    it(`${script} --quick prints its table`, () => {
      const r = spawnSync(process.execPath, [join(ROOT, 'bench', script), '--quick'], { encoding: 'utf8', cwd: ROOT });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^\| .* \|$/m);
    });
  }
});
