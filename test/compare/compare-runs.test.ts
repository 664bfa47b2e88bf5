import { strict as assert } from 'node:assert';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRunReport } from '@e3/core';
import { checkPage, findChromium } from '@e3/plots';
import { e3, tempDir } from '../helpers/files.js';
import { skipBecause } from '../helpers/skip.js';
import { quickSweep } from '../helpers/sweeps.js';

/** The markdown table that follows `title` in compare's output (the results table when no title). */
function table(stdout: string, title?: string): string[][] {
  const from = title === undefined ? stdout : stdout.slice(stdout.indexOf(title));
  const start = from.indexOf('\n|') + 1;
  const block = title === undefined ? from.split('\n\n')[0] : from.slice(start).split('\n\n')[0];
  return block
    .split('\n')
    .filter((l) => l.startsWith('| ') && !/^\|-/.test(l))
    .map((l) => l.slice(2, -2).split(' | '));
}

/**
 * Real runs through the CLI: the quickstart with an example plugin's own metric
 * (examples/kept-share.yaml), 2 learning rates × 2 seeds as a sweep.
 */
describe('e3 compare on real runs: declared metrics, n, masks, paired differences, timing apart, plots', function () {
  this.timeout(600000);
  const out = join(tempDir(), 'sweep');
  let cmp: ReturnType<typeof e3>;
  before(() => {
    const file = quickSweep(
      'grid:\n  nodes.distill.params.lr: [0.001, 0.004]\nseeds: [0, 1]',
      4,
      'examples/kept-share.yaml',
    );
    const r = e3(['sweep', file, '--out', out, '--parallel', '2'], { timeoutMs: 540000 });
    assert.equal(r.code, 0, r.stderr);
    cmp = e3(['compare', out, '--per-seed']);
  });

  it("every declared metric is a column, the plugin's own and the final loss terms included; n of planned", () => {
    assert.equal(cmp.code, 0, cmp.stderr);
    const [head, ...rows] = table(cmp.stdout);
    assert.deepEqual(head, [
      '#',
      'nodes.distill.params.lr',
      'seeds',
      'exact match ↑',
      'perplexity ↓',
      'KL to teacher ↓',
      'training tokens ↓',
      'final loss ↓',
      'final forwardKl ↓',
      'kept share ↓',
    ]);
    assert.deepEqual(
      rows.map((r) => r.slice(0, 3)),
      [
        ['1', '0.001', '2 of 2'],
        ['2', '0.004', '2 of 2'],
      ],
    );
    // the quickstart removes 2 of 8 layers: the plugin declares 6/8 kept, the same for every seed
    assert.deepEqual(
      rows.map((r) => r.at(-1)),
      ['0.750 ± 0.000', '0.750 ± 0.000'],
    );
    assert.match(cmp.stdout, /exact match: 16 examples \(fraction\);.* kept share: 8 layers \(fraction\)/);
  });

  it('every report.json passes the run-report schema and carries the plugin metric with its source', () => {
    for (const point of ['lr=0.001,seed=0', 'lr=0.004,seed=1']) {
      const report = readRunReport(join(out, 'runs', point, 'report.json'), 'the test')!;
      const share = report.metrics.find((m) => m.name === 'example.keptShare');
      assert.deepEqual(share, {
        name: 'example.keptShare',
        heading: 'kept share',
        unit: 'fraction',
        direction: 'lower',
        n: 8,
        of: 'layers',
        value: 0.75,
        source: 'share',
      });
    }
  });

  it('timing is a table of its own; masks per row; a paired difference with its interval; values per seed', () => {
    const results = table(cmp.stdout)[0].join(' ');
    assert.doesNotMatch(results, /speed-up|wall|tok\/s/, 'no timing column among the results');
    const timing = table(cmp.stdout, 'Timing (noisy');
    assert.deepEqual(timing[0].slice(0, 3), ['#', 'nodes.distill.params.lr', 'seeds']);
    assert.ok(timing[0].includes('speed-up (decode) ↑') && timing[0].includes('wall s ↓'), timing[0].join());
    assert.match(
      cmp.stdout,
      /Removed layers \(0-based, as in report\.md\):\n- row 1: (\d, \d \(all 2 seeds\)|seed 0: .*)/,
    );
    const diff = table(cmp.stdout, 'Paired difference to row 1');
    assert.deepEqual(diff[1].slice(0, 3), ['2', '1', '2']);
    // exact match of row 2 − row 1 over both seeds, with its interval
    assert.match(diff[1][3], /^[+-]\d\.\d{3} \[[+-]\d\.\d{3}, [+-]\d\.\d{3}\]$/);
    const perSeed = table(cmp.stdout, 'Per seed');
    assert.equal(perSeed.length, 5);
    assert.deepEqual(
      perSeed.slice(1).map((r) => [r[1], r[2], r[3]]),
      [
        ['0.001', '0', join(out, 'runs', 'lr=0.001,seed=0')],
        ['0.001', '1', join(out, 'runs', 'lr=0.001,seed=1')],
        ['0.004', '0', join(out, 'runs', 'lr=0.004,seed=0')],
        ['0.004', '1', join(out, 'runs', 'lr=0.004,seed=1')],
      ],
    );
    const json = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
    const share = json.columns.find((c: { key: string }) => c.key === 'example.keptShare');
    assert.deepEqual([share.direction, share.n], ['lower', [8]]);
  });

  it('a seed that failed counts in n as missing: 1 of 2, and the difference falls back to the shared seed', () => {
    const copy = join(tempDir(), 'sweep-copy');
    cpSync(out, copy, { recursive: true });
    const runJson = join(copy, 'runs', 'lr=0.004,seed=1', 'run.json');
    writeFileSync(runJson, JSON.stringify({ ...JSON.parse(readFileSync(runJson, 'utf8')), status: 'failed' }));
    const r = e3(['compare', copy]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      table(r.stdout).map((x) => x[2]),
      ['seeds', '2 of 2', '1 of 2'],
    );
    assert.match(r.stdout, /row 2: n = 1 of 2; missing seed 1 failed/);
    assert.match(table(r.stdout, 'Paired difference')[1][3], /\(1 seed, no interval\)$/);
  });

  it('compare.html: in headless Chromium, a plot per metric with a point per seed, and the learning curves', async function () {
    if (!findChromium()) skipBecause(this, 'no Chromium (Debian: apt-get install chromium, or set E3_CHROMIUM)');
    const page = await checkPage(join(out, 'compare.html'), {
      selectors: [
        'figure.plot svg',
        '#metric-example\\.keptShare svg',
        '#learning-curves svg .mark-line path',
        'svg .mark-symbol path',
      ],
    });
    assert.deepEqual(page.errors, []);
    assert.equal(page.counts['figure.plot svg'], 8, '7 result metrics and the learning curves');
    assert.equal(page.counts['#metric-example\\.keptShare svg'], 1);
    assert.equal(page.counts['#learning-curves svg .mark-line path'], 4, 'one loss curve per run');
    assert.ok(page.counts['svg .mark-symbol path'] >= 7 * 4, 'a point per seed and row in each metric plot');
  });
});
