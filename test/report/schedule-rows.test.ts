import { strict as assert } from 'node:assert';
import { lrRows, plottedSteps, reportCharts, searchScheduleRows, withN } from '@e3/plugins';

/** A search of `steps` keeping 2 of 4 layers, τ from 1 to `tauTo`, the curriculum over `warmupFraction` (0: off). */
const searchSchedule = (steps: number, tauTo: number, warmupFraction: number) => ({
  steps,
  layers: 4,
  keep: 2,
  tau: { from: 1, to: tauTo },
  curriculum: { enabled: warmupFraction > 0, warmupFraction },
});

const close = (a: number[], b: number[]) => a.every((x, i) => Math.abs(x - b[i]) < 1e-9) && a.length === b.length;

/** The report's schedules drawn at every step, pinned to values worked out by hand (issue 28, "plots that tell the truth"). */
describe('report schedules (report/schedule-rows.ts)', () => {
  it('the learning rate at every step from the schedule: warm-up then cosine', () => {
    // peak 1, 2 warm-up steps, 4 steps, min ratio 0: (0+1)/2, 2/2, then p = 0 → 1, p = 1/2 → ½(1 + cos π/2) = ½.
    const rows = lrRows({ lrSchedule: { steps: 4, warmupSteps: 2, peak: 1, minLrRatio: 0 }, history: [] });
    assert.deepEqual(
      rows.map((r) => r.step),
      [0, 1, 2, 3],
    );
    assert.ok(
      close(
        rows.map((r) => r.lr),
        [0.5, 1, 1, 0.5],
      ),
      JSON.stringify(rows),
    );
    // Without a recorded schedule: the recorded steps only.
    assert.deepEqual(
      lrRows({
        history: [
          { step: 0, lr: 0.1 },
          { step: 25, lr: 0.2 },
        ],
      }),
      [
        { step: 0, lr: 0.1 },
        { step: 25, lr: 0.2 },
      ],
    );
  });

  it('τ and the curriculum at every step from the search schedule', () => {
    // 5 steps, progress s/4; τ 1 → 0.01: 0.01^(s/4); K from 4 to 2 over the first half: round(4 − 2·min(1, 2p)).
    const rows = searchScheduleRows({ schedule: searchSchedule(5, 0.01, 0.5) });
    assert.deepEqual(
      rows.map((r) => r.k),
      [4, 3, 2, 2, 2],
    );
    assert.ok(
      close(
        rows.map((r) => r.tau),
        [1, Math.sqrt(0.1), 0.1, Math.pow(0.01, 0.75), 0.01],
      ),
      JSON.stringify(rows),
    );
  });

  it('long schedules: evenly spaced points plus the steps where they bend', () => {
    const s = plottedSteps(10_000, [39, 40]);
    assert.ok(s.length <= 2003 && s.includes(39) && s.includes(40) && s.at(-1) === 9999, String(s.length));
  });

  it('every accuracy says its n', () => {
    assert.equal(withN([{ n: 16 }, { n: 16 }]), 'n = 16');
    assert.equal(withN([{ n: 16 }, { n: 32 }]), 'n = 16–32');
    assert.equal(withN([{}]), 'n not recorded');
  });

  it('charts: total and terms apart, lr at every step, the search loss, τ and curriculum', () => {
    const history = [0, 1, 2].map((step) => ({ step, loss: 3 - step, lr: 0.1, gradNorm: 1, tokens: 10, forwardKl: 2 }));
    const search = {
      restarts: [{ restart: 0, history: [{ step: 0, loss: 5, tau: 1, k: 4 }] }],
      schedule: searchSchedule(3, 0.1, 0),
    };
    const charts = reportCharts({
      metrics: [],
      training: {
        steps: 3,
        tokens: 30,
        wallSeconds: 1,
        history,
        lrSchedule: { steps: 3, warmupSteps: 1, peak: 0.1, minLrRatio: 0.1 },
        evalCurve: [{ step: 0, tokens: 0, accuracy: 0.5, n: 16 }],
      },
      search,
    });
    const byId = new Map(
      charts.map((c) => [c.id, c.spec as { title: string; data: { values: Record<string, unknown>[] } }]),
    );
    assert.deepEqual([...byId.keys()].sort(), [
      'heldout-accuracy',
      'heldout-kl',
      'search-curriculum',
      'search-loss',
      'search-temperature',
      'training-loss',
      'training-lr',
      'training-terms',
    ]);
    assert.ok(!byId.get('training-terms')!.data.values.some((r) => r.term === 'loss'), 'the total is not a term');
    assert.deepEqual(
      byId.get('training-loss')!.data.values.map((r) => r.loss),
      [3, 2, 1],
    );
    assert.equal(byId.get('training-lr')!.data.values.length, 3);
    assert.equal(byId.get('heldout-accuracy')!.title, 'Held-out exact match (n = 16)');
    assert.deepEqual(
      byId.get('search-curriculum')!.data.values.map((r) => r.k),
      [2, 2, 2],
    );
  });
});
