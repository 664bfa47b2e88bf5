import { strict as assert } from 'node:assert';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { e3, ROOT, tempDir } from '../helpers/files.js';
import { reducedQuickstart } from '../helpers/quickstart.js';

/** The keys `e3 plugins --json --plugin …` lists. */
function listed(...plugins: string[]): { code: number; keys: string[]; stderr: string } {
  const r = e3(['plugins', '--json', ...plugins.flatMap((p) => ['--plugin', p])]);
  if (r.code !== 0) return { code: r.code, keys: [], stderr: r.stderr };
  const j = JSON.parse(r.stdout);
  return { code: 0, keys: [...j.plugins, ...j.components].map((m: { key: string }) => m.key), stderr: r.stderr };
}

describe('plugins written by users (through the CLI)', function () {
  this.timeout(300000);

  it('the example loss term trains in the distillation: its value is recorded with the other terms', () => {
    const run = join(tempDir(), 'run');
    const r = reducedQuickstart(run, ['--quiet'], 'examples/custom-loss.yaml');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(join(run, 'report.json'), 'utf8'));
    const last = report.training.history.at(-1);
    assert.ok(last.topkLogMse > 0 && last.forwardKl > 0, JSON.stringify(last));
  });

  it('the example sampler drives the mask search', () => {
    const run = join(tempDir(), 'run');
    const r = reducedQuickstart(run, ['--quiet'], 'examples/custom-sampler.yaml');
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(join(run, 'resolved.yaml'), 'utf8'), /component: example\.epsilonSwap\n\s+epsilon: 0\.3/);
    assert.equal(JSON.parse(readFileSync(join(run, 'report.json'), 'utf8')).model.layers, 6);
  });

  it("a built plugin outside the repository gets e3's inversify, reflect-metadata and @e3/core", () => {
    const dir = tempDir();
    copyFileSync(join(ROOT, 'examples', 'dist', 'epsilon-sampler.js'), join(dir, 'epsilon-sampler.js'));
    const r = listed(join(dir, 'epsilon-sampler.js'));
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.keys.includes('example.epsilonSwap'));
  });

  it('a .ts plugin loads through tsx; one that is not an ES module is told how to fix it', () => {
    const dir = tempDir();
    copyFileSync(join(ROOT, 'examples', 'src', 'topk-log-mse.ts'), join(dir, 'topk-log-mse.ts'));
    const cjs = listed(join(dir, 'topk-log-mse.ts'));
    assert.equal(cjs.code, 1);
    assert.match(
      cjs.stderr,
      /a \.ts plugin must be an ES module: name it \.mts, or put a package\.json with "type": "module"/,
    );
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    const esm = listed(join(dir, 'topk-log-mse.ts'));
    assert.equal(esm.code, 0, esm.stderr);
    assert.ok(esm.keys.includes('example.topkLogMse'));
  });

  it("one module named by the graph's plugins: and by --plugin registers once", () => {
    const r = e3([
      'validate',
      'examples/custom-sampler.yaml',
      '--plugin',
      'examples/dist/epsilon-sampler.js',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).ok, true);
  });
});
