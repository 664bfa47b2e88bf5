import { strict as assert } from 'node:assert';
import { compareMarkdown, compareTable, formatStat, meanStd, type ComparedRun } from '@e3/cli';

const run = (lr: number, seed: number, exactMatch: number): ComparedRun => ({
  dir: `r${lr}-${seed}`,
  settings: { 'nodes.distill.params.lr': lr },
  seed,
  metrics: { exactMatch, kl: undefined },
});

describe('compare table', () => {
  it('one row per setting, mean ± sample std over seeds, — where no run has the metric', () => {
    assert.deepEqual(meanStd([1, 2, 3]), { mean: 2, std: 1, n: 3 });
    const t = compareTable(
      [run(0.1, 0, 0.5), run(0.2, 0, 0.9), run(0.1, 1, 0.7)],
      ['nodes.distill.params.lr'],
      ['x/unfinished'],
    );
    assert.deepEqual(
      t.rows.map((r) => [r.settings['nodes.distill.params.lr'], r.seeds]),
      [
        [0.1, [0, 1]],
        [0.2, [0]],
      ],
    );
    assert.equal(formatStat('exactMatch', t.rows[0].metrics.exactMatch), '0.600 ± 0.141');
    const md = compareMarkdown(t).split('\n');
    assert.equal(md[2], '| 0.1 | 2 | 0.600 ± 0.141 | — | — | — | — | — |');
    assert.equal(md[3], '| 0.2 | 1 | 0.900 | — | — | — | — | — |');
    assert.match(compareMarkdown(t), /1 run\(s\) not finished, left out: x\/unfinished/);
  });
});
