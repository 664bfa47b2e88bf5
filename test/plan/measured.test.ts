import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers/files.js';

/**
 * The estimate of a training step against reality: the growth of the wasm heap (which never
 * shrinks, so its growth is the step's peak, plus emscripten's ≤ 20% over-growth and malloc's
 * fragmentation) in a fresh process. The estimate must be within 25% of it either way.
 */
describe('memory plan: the estimate against the wasm heap', function () {
  this.timeout(120000);
  for (const dims of [
    [4, 256, 1000, 16, 64],
    [2, 512, 4000, 8, 128],
  ]) {
    it(`one training step, layers/d/V/B/T = ${dims.join('/')}`, () => {
      const r = spawnSync(process.execPath, [join(ROOT, 'test/dist/plan/heap-step.js'), ...dims.map(String)], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      const { heapGrowth, estimate } = JSON.parse(r.stdout);
      const ratio = estimate / heapGrowth;
      assert.ok(
        ratio > 0.75 && ratio < 1.25,
        `estimate ${estimate} B vs wasm heap growth ${heapGrowth} B (ratio ${ratio.toFixed(2)})`,
      );
    });
  }
});
