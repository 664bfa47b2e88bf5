import { strict as assert } from 'node:assert';
import { formatDifference, pairedDifference } from '@e3/cli';

describe('paired difference between two arms', () => {
  it('mean ± t(0.975, n−1)·sd/√n over the shared seeds, worked out by hand', () => {
    // Seeds 0, 1, 2 shared; seed 3 only in a (left out). d = 0.05, 0.10, −0.05; mean 0.1/3 = 0.033333;
    // sd = √((0.016667² + 0.066667² + 0.083333²)/2) = √(0.0116667/2) = 0.076376; t(0.975, 2) = 4.3027 (table);
    // half width 4.3027 · 0.076376 / √3 = 0.189729 → [−0.156396, 0.223062].
    const a = new Map([
      [0, 0.9],
      [1, 0.8],
      [2, 0.85],
      [3, 0.1],
    ]);
    const b = new Map([
      [2, 0.9],
      [0, 0.85],
      [1, 0.7],
    ]);
    const d = pairedDifference(a, b)!;
    assert.deepEqual(d.seeds, [0, 1, 2]);
    assert.equal(d.n, 3);
    assert.ok(Math.abs(d.mean - 0.033333) < 1e-6, `mean ${d.mean}`);
    assert.ok(Math.abs(d.low! - -0.156396) < 1e-4, `low ${d.low}`);
    assert.ok(Math.abs(d.high! - 0.223062) < 1e-4, `high ${d.high}`);
    assert.equal(formatDifference(3, d), '+0.033 [-0.156, +0.223]');
  });

  it('two seeds use t(0.975, 1) = 12.706; one shared seed has no interval; none is undefined', () => {
    // d = 1 and 3: mean 2, sd √2, half width 12.706 · √2 / √2 = 12.706.
    const d = pairedDifference(
      new Map([
        [0, 2],
        [1, 5],
      ]),
      new Map([
        [0, 1],
        [1, 2],
      ]),
    )!;
    assert.ok(
      Math.abs(d.low! - (2 - 12.7062)) < 1e-3 && Math.abs(d.high! - (2 + 12.7062)) < 1e-3,
      `${d.low} ${d.high}`,
    );
    const one = pairedDifference(new Map([[4, 1]]), new Map([[4, 0.5]]))!;
    assert.deepEqual([one.n, one.mean, one.low], [1, 0.5, undefined]);
    assert.equal(formatDifference(2, one), '+0.50 (1 seed, no interval)');
    assert.equal(pairedDifference(new Map([[0, 1]]), new Map([[1, 1]])), undefined);
  });
});
