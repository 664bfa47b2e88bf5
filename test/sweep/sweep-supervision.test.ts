import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from '../helpers/files.js';
import { e3Process, pointRuns, quickSweep, SAMPLER_GRID, until } from '../helpers/sweeps.js';

/** How many `e3 run` processes run points of the sweep in `sweepDir` now (from /proc). */
function pointProcesses(sweepDir: string): number {
  let n = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (args.includes('run') && args.some((a) => a.startsWith(join(sweepDir, 'runs')))) n++;
    } catch {
      /* gone meanwhile */
    }
  }
  return n;
}

describe('e3 sweep: one driver per directory, --parallel a hard bound', function () {
  this.timeout(600000);

  it('two identical e3 sweep processes on one directory: one drives, the other waits; both exit 0', async () => {
    const file = quickSweep('grid:\n  nodes.search.params.sampler.component: [sampler.gumbelTopk]\nseeds: [0, 1]');
    const out = join(tempDir(), 'sweep');
    const a = e3Process(['sweep', file, '--out', out]);
    const b = e3Process(['sweep', file, '--out', out]);
    const [ca, cb] = [await a.exit, await b.exit];
    assert.equal(ca, 0, a.stderr());
    assert.equal(cb, 0, b.stderr());
    const waited = [a, b].filter((p) => /is driven by another e3 sweep \(pid \d+, started /.test(p.stderr()));
    assert.equal(waited.length, 1, `exactly one of them waited:\n${a.stderr()}\n---\n${b.stderr()}`);
    assert.match(waited[0].stderr(), /the other e3 sweep of .* has ended; continuing what is left/);
    assert.match(waited[0].stderr(), /2 already succeeded, not run again/);
    for (const [id, run] of Object.entries(pointRuns(out)))
      assert.deepEqual([run.status, run.attempt], ['succeeded', 1], id);
  });

  it('after kill -9 of the sweep alone, a rerun waits for its orphaned points, counting them in --parallel', async () => {
    const file = quickSweep(`${SAMPLER_GRID}\nseeds: [0, 1]`, 30);
    const out = join(tempDir(), 'sweep');
    const first = e3Process(['sweep', file, '--out', out, '--parallel', '2']);
    await until('two points to run', () => pointProcesses(out) === 2, 120);
    await sleep(1000);
    first.child.kill('SIGKILL'); // the sweep process only: its two e3 run children go on as orphans
    await first.exit;
    const rerun = e3Process(['sweep', file, '--out', out, '--parallel', '2']);
    let most = 0;
    let orphansDone = false;
    const watch = (async () => {
      while (rerun.child.exitCode === null) {
        most = Math.max(most, pointProcesses(out));
        await sleep(100);
      }
    })();
    const code = await rerun.exit;
    await watch;
    orphansDone = pointProcesses(out) === 0;
    assert.equal(code, 0, rerun.stderr());
    assert.ok(orphansDone, 'the rerun ended after every point process');
    assert.ok(most <= 2, `at most --parallel 2 point processes at once (saw ${most})`);
    assert.match(rerun.stderr(), /took over the lock of .* \(its e3 sweep, pid \d+, is no longer running\)/);
    assert.equal(
      rerun.stderr().match(/still running under pid \d+; waiting for it \(it counts in --parallel\)/g)?.length,
      2,
    );
    const runs = pointRuns(out);
    assert.equal(Object.keys(runs).length, 4);
    for (const [id, run] of Object.entries(runs)) assert.deepEqual([run.status, run.attempt], ['succeeded', 1], id);
    assert.match(rerun.stderr(), /4 of 4 points succeeded/);
  });
});
