import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { e3, tempDir } from '../helpers/files.js';
import {
  e3Process as start,
  pointCheckpointedBy,
  pointRuns,
  queuedSweep,
  quickSweep,
  SAMPLER_GRID,
} from '../helpers/sweeps.js';
import { skipBecause } from '../helpers/skip.js';

const REDIS = process.env.E3_TEST_REDIS;

describe('e3 sweep on a BullMQ queue with e3 workers', function () {
  this.timeout(400000);

  before(function () {
    if (!REDIS) {
      skipBecause(this, 'set E3_TEST_REDIS=redis://127.0.0.1:PORT to a running redis-server; .ci/run does');
    }
  });

  it('6 points, 2 workers, one SIGKILLed mid-job: each point finishes once, the killed one resumes', async () => {
    const file = quickSweep(`${SAMPLER_GRID}\nseeds: [0, 1, 2]`, 40);
    const out = join(tempDir(), 'sweep');
    const sweep = await queuedSweep(file, out, REDIS!, 6);
    const worker = () => start(['worker', '--queue', REDIS!, '--lock-seconds', '2', '--until-empty']);
    const w1 = worker();
    const w2 = worker();
    const killed = await pointCheckpointedBy(out, w1.child.pid!, 240);
    w1.child.kill('SIGKILL');
    assert.equal(await w1.exit, -1);
    assert.equal(await w2.exit, 0, w2.stderr());
    assert.equal(await sweep.exit, 0, sweep.stderr());

    const runs = pointRuns(out);
    assert.equal(Object.keys(runs).length, 6);
    for (const [id, run] of Object.entries(runs)) {
      assert.equal(run.status, 'succeeded', id);
      const log = readFileSync(join(out, 'runs', id, 'run.log'), 'utf8');
      const starts = log.match(/\] e3: run \//g)!.length;
      assert.equal(starts, run.attempt, `${id}: one start per attempt`);
      assert.equal(run.attempt, id === killed ? 2 : 1, `${id}: the killed point ran twice, every other once`);
      assert.equal(log.match(/\] export: exported/g)!.length, 1, `${id}: its result was produced once`);
      if (id !== killed) continue;
      assert.equal(run.resumed, true);
      assert.match(log, /took over a stale lock of run directory .* \(pid \d+, .* is no longer running\)/);
      const step = Number(/distill: resumed at step (\d+) from /.exec(log)?.[1]);
      assert.ok(step >= 5, `resumed from a checkpoint (step ${step}), not restarted:\n${log}`);
      assert.equal(log.match(/distill: distilled 40 steps/g)!.length, 1);
    }
    assert.match(w2.stderr(), new RegExp(`point ${killed.replace(/[.+]/g, '\\$&')}: resuming its stopped run`));
    const sweepJson = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
    assert.equal(sweepJson.counts.succeeded, 6);

    const cmp = e3(['compare', out]);
    assert.equal(cmp.code, 0, cmp.stderr);
    assert.match(cmp.stdout, /\| 1 \| sampler\.gumbelTopk \| 3 of 3 \| /);
    assert.match(cmp.stdout, /\| 2 \| sampler\.deterministicTopk \| 3 of 3 \| /);

    const again = e3(['sweep', file, '--out', out, '--queue', REDIS!]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /6 already succeeded, not run again[\s\S]*queued 0 point/);
  });
});

describe('e3 worker without Redis', () => {
  it('an unreachable Redis is a clear error', () => {
    const r = e3(['worker', '--queue', 'redis://127.0.0.1:1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1 within 5 s; start one/);
  });
});
