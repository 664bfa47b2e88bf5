import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { e3, tempDir } from '../helpers/files.js';
import { pointRuns, quickSweep, SAMPLER_GRID } from '../helpers/sweeps.js';

describe('e3 sweep without a queue, e3 compare', function () {
  this.timeout(300000);

  it('runs 2 samplers × 2 seeds 2 at a time, continues without rerunning, and compares them', () => {
    const file = quickSweep(`${SAMPLER_GRID}\nseeds: [0, 1]`);
    const out = join(tempDir(), 'sweep');
    const r = e3(['sweep', file, '--out', out, '--parallel', '2'], { timeoutMs: 280000 });
    assert.equal(r.code, 0, r.stderr);
    const runs = pointRuns(out);
    assert.deepEqual(Object.keys(runs).sort(), [
      'component=sampler.deterministicTopk,seed=0',
      'component=sampler.deterministicTopk,seed=1',
      'component=sampler.gumbelTopk,seed=0',
      'component=sampler.gumbelTopk,seed=1',
    ]);
    for (const run of Object.values(runs)) assert.deepEqual([run.status, run.attempt], ['succeeded', 1]);
    const spans = Object.values(runs).map((x) => [Date.parse(x.startedAt), Date.parse(x.finishedAt)]);
    const overlapping = spans.some(([a, b], i) => spans.some(([c, d], j) => i !== j && a < d && c < b));
    assert.ok(overlapping, 'with --parallel 2 two points ran at the same time');
    const sweep = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
    assert.equal(sweep.counts.succeeded, 4);

    const again = e3(['sweep', file, '--out', out], { timeoutMs: 60000 });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /4 already succeeded, not run again/);
    for (const run of Object.values(pointRuns(out))) assert.equal(run.attempt, 1);
    const status = e3(['sweep', '--status', out]);
    assert.match(status.stdout, /4 points: 4 succeeded/);

    const cmp = e3(['compare', out]);
    assert.equal(cmp.code, 0, cmp.stderr);
    const lines = cmp.stdout.split('\n\n')[0].split('\n');
    assert.match(
      lines[0],
      new RegExp(
        '^\\| # \\| nodes\\.search\\.params\\.sampler\\.component \\| seeds \\| exact match ↑ \\| perplexity ↓ ' +
          '\\| KL to teacher ↓ \\| training tokens ↓ \\| final loss ↓ \\| final forwardKl ↓ \\|$',
      ),
    );
    assert.equal(lines.length, 4);
    assert.match(lines[2], /^\| 1 \| sampler\.gumbelTopk \| 2 of 2 \| \d\.\d{3} ± \d\.\d{3} \| /);
    const json = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
    assert.deepEqual(
      json.rows.map((x: any) => x.seeds),
      [
        [0, 1],
        [0, 1],
      ],
    );
    const exact = Object.values(runs)
      .filter((x: any) => x.sets.includes('nodes.search.params.sampler.component=sampler.gumbelTopk'))
      .map(
        (x: any) =>
          JSON.parse(
            readFileSync(join(out, 'runs', `component=sampler.gumbelTopk,seed=${x.seed}`, 'report.json'), 'utf8'),
          ).model.accuracy,
      );
    assert.ok(Math.abs(json.rows[0].metrics.exactMatch.mean - (exact[0] + exact[1]) / 2) < 1e-12);
    const html = readFileSync(join(out, 'compare.html'), 'utf8');
    assert.match(html, /<table>[\s\S]*sampler\.deterministicTopk[\s\S]*<\/table>/);
    const namespaces = /xmlns(:xlink)?="http:\/\/www\.w3\.org\/(2000\/svg|1999\/xlink)"/g;
    assert.doesNotMatch(html.replace(namespaces, ''), /<script|https?:\/\//, 'nothing to fetch');
  });

  it('a sweep over distillation settings runs the mask search once and reuses it (node cache)', () => {
    const file = quickSweep('grid:\n  nodes.distill.params.lr: [0.001, 0.002]\nseeds: [0]');
    const out = join(tempDir(), 'sweep');
    const r = e3(['sweep', file, '--out', out], { timeoutMs: 280000 });
    assert.equal(r.code, 0, r.stderr);
    const runs = Object.entries(pointRuns(out));
    const stored = runs.filter(([, x]) => x.cache.stored.search);
    const reused = runs.filter(([, x]) => x.cache.reused.search);
    assert.equal(stored.length, 1, 'one point ran the search');
    assert.equal(reused.length, 1, 'the other reused it');
    assert.equal(reused[0][1].cache.reused.search, stored[0][1].cache.stored.search);
    const log = readFileSync(join(out, 'runs', reused[0][0], 'run.log'), 'utf8');
    assert.match(
      log,
      /node search: reused its outputs from the node cache \(key [0-9a-f]{16}, computed by node search of .*lr=0\.001/,
    );
    assert.doesNotMatch(log, /\] search: removes/, 'the reused search did not run');
    assert.match(readFileSync(join(out, 'runs', stored[0][0], 'run.log'), 'utf8'), /\] search: removes/);
    const masks = runs.map(([id]) =>
      JSON.parse(readFileSync(join(out, 'runs', id, 'report.json'), 'utf8')).mask.mask.join(''),
    );
    assert.equal(masks[0], masks[1]);
    const ls = e3(['cache', 'ls', join(out, 'cache'), '--json']);
    assert.deepEqual(
      JSON.parse(ls.stdout).map((e: any) => e.plugin),
      ['masker.search'],
    );
    const gc = e3(['cache', 'gc', join(out, 'cache'), '--older-than', '0']);
    assert.match(gc.stdout, /removed 1 entry/);
    assert.ok(!existsSync(join(out, 'cache', 'nodes', stored[0][1].cache.stored.search)));
  });
});
