import { strict as assert } from 'node:assert';
import type { DeclaredMetric } from '@e3/core';
import { compareMarkdown, compareTable, formatStat, meanStd, type ComparedRun } from '@e3/cli';

const declared = (name: string, value: number | null, o: Partial<DeclaredMetric> = {}): DeclaredMetric => ({
  name,
  unit: 'fraction',
  direction: 'higher',
  n: 300,
  value,
  ...o,
});

const run = (lr: number, seed: number, exactMatch: number, extra: DeclaredMetric[] = []): ComparedRun => {
  const metrics = [declared('exactMatch', exactMatch, { heading: 'exact match' }), ...extra];
  return {
    dir: `r${lr}-${seed}`,
    settings: { 'nodes.distill.params.lr': lr },
    seed,
    metrics: Object.fromEntries(metrics.map((m) => [m.name, m.value ?? undefined])),
    declared: metrics,
    mask: seed === 1 && lr === 0.2 ? [1, 0, 1, 0] : [1, 1, 0, 0],
  };
};

describe('compare table', () => {
  it('one row per setting, mean ± sample std over seeds of every declared metric, — where a row lacks one', () => {
    assert.deepEqual(meanStd([1, 2, 3]), { mean: 2, std: 1, n: 3 });
    const plugin = declared('example.keptShare', 0.75, {
      heading: 'kept share',
      direction: 'lower',
      n: 8,
      of: 'layers',
    });
    const t = compareTable(
      [run(0.1, 0, 0.5, [plugin]), run(0.2, 0, 0.9), run(0.1, 1, 0.7), run(0.2, 1, 0.8)],
      ['nodes.distill.params.lr'],
      ['x/unfinished'],
    );
    assert.deepEqual(
      t.rows.map((r) => [r.settings['nodes.distill.params.lr'], r.seeds]),
      [
        [0.1, [0, 1]],
        [0.2, [0, 1]],
      ],
    );
    assert.equal(formatStat(3, t.rows[0].metrics.exactMatch), '0.600 ± 0.141');
    const md = compareMarkdown(t, { perSeed: true });
    const lines = md.split('\n');
    assert.equal(lines[0], '| # | nodes.distill.params.lr | seeds | exact match ↑ | kept share ↓ |');
    assert.equal(lines[2], '| 1 | 0.1 | 2 of 2 | 0.600 ± 0.141 | 0.750 (n=1) |');
    assert.equal(lines[3], '| 2 | 0.2 | 2 of 2 | 0.850 ± 0.071 | — |');
    assert.match(
      md,
      /n of each metric \(what it was computed on\): exact match: 300 examples \(fraction\); kept share: 8 layers/,
    );
    // masks: row 1's seeds agree, row 2's differ (seed 1 removes 1 and 3)
    assert.match(md, /- row 1: 2, 3 \(all 2 seeds\)\n- row 2: seed 0: 2, 3; seed 1: 1, 3/);
    // row 2 − row 1 per seed: 0.9 − 0.5 = 0.4, 0.8 − 0.7 = 0.1 → mean 0.25, sd 0.2121, t(0.975,1) 12.706:
    // half width 12.706 · 0.2121 / √2 = 1.906 → [−1.656, +2.156]
    assert.match(md, /\| 2 \| 1 \| 2 \| \+0\.250 \[-1\.656, \+2\.156\] \| — \|/);
    assert.match(md, /\| 1 \| 0\.1 \| 0 \| r0\.1-0 \| 2, 3 \| 0\.500 \| 0\.750 \|/);
    assert.match(md, /1 run\(s\) not finished, left out: x\/unfinished/);
  });

  it('a metric declared noisy (timing) is left out of the results and of the differences, in a table of its own', () => {
    const wall = (s: number) => declared('wall', s, { heading: 'wall s', unit: 's', direction: 'lower', noisy: true });
    const t = compareTable([run(0.1, 0, 0.5, [wall(3)]), run(0.1, 1, 0.7, [wall(5)])], ['nodes.distill.params.lr'], []);
    const md = compareMarkdown(t);
    assert.equal(md.split('\n')[0], '| # | nodes.distill.params.lr | seeds | exact match ↑ |');
    assert.match(
      md,
      /Timing \(noisy: [^\n]*\n\n\| # \| nodes\.distill\.params\.lr \| seeds \| wall s ↓ \|\n\|---\|---\|---\|---\|\n\| 1 \| 0\.1 \| 2 of 2 \| 4\.000 ± 1\.414 \|/,
    );
  });
});
