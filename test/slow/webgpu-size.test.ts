import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { initBackend } from '@e3/core';
import { ROOT } from '../helpers/files.js';
import { skipBecause } from '../helpers/skip.js';

/**
 * bench/webgpu-size.js: Qwen3-0.6B-shaped logits on webgpu against cpu (the script exits 1 above
 * 1e-4 relative). Minutes on lavapipe, so only with E3_SLOW=1, and only where Dawn finds a device.
 */
describe('webgpu at size: bench/webgpu-size.js (slow suite)', function () {
  this.timeout(1800000);
  before(async function () {
    if (!process.env.E3_SLOW) skipBecause(this, 'slow; run with E3_SLOW=1 (npm run test:slow)');
    try {
      await initBackend('webgpu');
    } catch (e) {
      skipBecause(this, (e as Error).message.split('\n')[0]);
    } finally {
      await initBackend('cpu');
    }
  });

  for (const args of [['--quick'], []]) {
    it(`webgpu-size.js ${args.join(' ')}: logits match cpu and the table is written`, () => {
      const script = join(ROOT, 'bench', 'webgpu-size.js');
      const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', cwd: ROOT });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^\| .* \| .* \|$/m);
      assert.match(r.stdout, /row-window calls on webgpu: GatherV2 1, BatchMatMul 1/);
    });
  }
});
