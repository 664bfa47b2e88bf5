import { strict as assert } from 'node:assert';
import { scheduleAt, standardise } from '@e3/plugins';

describe('masker.search schedules', () => {
  it('schedules: τ anneals exponentially, K_t falls linearly over the warm-up then stays at K', () => {
    const sch = { tau: { from: 1, to: 0.05 }, curriculum: { enabled: true, warmupFraction: 0.5 } };
    assert.deepEqual(scheduleAt(sch, 0, 101, 8, 4), { tau: 1, k: 8, progress: 0 });
    const mid = scheduleAt(sch, 25, 101, 8, 4);
    assert.equal(mid.k, 6);
    assert.ok(Math.abs(mid.tau - Math.pow(0.05, 0.25)) < 1e-9);
    assert.equal(scheduleAt(sch, 50, 101, 8, 4).k, 4);
    assert.equal(scheduleAt(sch, 100, 101, 8, 4).k, 4);
    assert.ok(Math.abs(scheduleAt(sch, 100, 101, 8, 4).tau - 0.05) < 1e-12);
    assert.equal(scheduleAt({ ...sch, curriculum: { enabled: false, warmupFraction: 0.5 } }, 0, 101, 8, 4).k, 4);
    assert.deepEqual(standardise([1, 1, 1]), [0, 0, 0]);
    const z = standardise([1, 2, 3]);
    assert.ok(Math.abs(z[2] - Math.sqrt(1.5)) < 1e-9);
  });
});
