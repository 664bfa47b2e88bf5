import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/files.js';
import { NODE_LLAMA_CPP } from '../helpers/llama-cpp.js';
import { skipBecause } from '../helpers/skip.js';

/** Smoke runs of every benchmark script (`--quick`); slow, so only with E3_SLOW=1 (npm run test:slow). */
describe('benchmarks (slow suite)', function () {
  this.timeout(1800000);
  before(function () {
    if (!process.env.E3_SLOW) skipBecause(this, 'slow; run with E3_SLOW=1 (npm run test:slow)');
  });
  const scripts = ['mask-quality.js', 'recovery.js', 'search-ablations.js', 'speed.js', 'throughput.js', 'scale.js'];
  for (const script of [...scripts, 'llamacpp.js']) {
    it(`${script} --quick prints its table`, function () {
      if (script === 'llamacpp.js' && !existsSync(NODE_LLAMA_CPP))
        skipBecause(this, 'node-llama-cpp is not installed (npm ci --prefix runtimes/llama-cpp --omit=optional)');
      const r = spawnSync(process.execPath, [join(ROOT, 'bench', script), '--quick'], { encoding: 'utf8', cwd: ROOT });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^\| .* \|$/m);
    });
  }
});
