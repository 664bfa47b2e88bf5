import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/files.js';

const SCRIPTS = [
  'run-all.js',
  'mask-quality.js',
  'recovery.js',
  'search-ablations.js',
  'speed.js',
  'throughput.js',
  'scale.js',
  'head-memory.js',
  'gpu-bench.js',
  'teacher-card.js',
  'matmul-rates.js',
];

/** Modification times of the committed results, to prove --help touched none. */
const results = () =>
  Object.fromEntries(
    readdirSync(join(ROOT, 'bench', 'results')).map((f) => [f, statSync(join(ROOT, 'bench', 'results', f)).mtimeMs]),
  );

describe('bench scripts take options', function () {
  this.timeout(120000);

  it('--help prints usage and options and runs nothing; an unknown option is refused with the usage', () => {
    const before = results();
    for (const script of SCRIPTS) {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [join(ROOT, 'bench', script), '--help'], {
        encoding: 'utf8',
        cwd: ROOT,
        timeout: 30000,
      });
      assert.equal(r.status, 0, `${script}: ${r.stderr}`);
      assert.match(r.stdout, /^usage: /, script);
      assert.match(r.stdout, /--help +print this help and exit \(runs nothing\)/, script);
      assert.ok(performance.now() - t0 < 20000, `${script} --help returns at once`);
    }
    const bad = spawnSync(process.execPath, [join(ROOT, 'bench', 'recovery.js'), '--bogus'], {
      encoding: 'utf8',
      cwd: ROOT,
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Unknown option '--bogus'[\s\S]*usage: node bench\/recovery\.js/);
    assert.deepEqual(results(), before, 'no results file was written');
  });
});
