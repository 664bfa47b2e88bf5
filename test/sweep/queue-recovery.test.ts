import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../helpers/files.js';
import {
  e3Process,
  pointCheckpointedBy,
  pointRuns,
  queuedSweep,
  quickSweep,
  runDirsLockedBy,
  until,
} from '../helpers/sweeps.js';
import { skipBecause } from '../helpers/skip.js';

const REDIS = process.env.E3_TEST_REDIS;
const LR_GRID = (n: number) =>
  `grid:\n  nodes.distill.params.lr: [${[1, 2, 3].slice(0, n).map((k) => k / 1000)}]\nseeds: [0]`;

/** How many times a run was started in a point's run.log. */
function starts(sweepDir: string, point: string): number {
  return readFileSync(join(sweepDir, 'runs', point, 'run.log'), 'utf8').match(/\] e3: run \//g)?.length ?? 0;
}

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  await new Promise((done) => server.close(done));
  return port;
}

/** A redis-server of this test's own, without persistence (a restart empties it). */
async function startRedis(port: number): Promise<ChildProcess> {
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  await until(
    'redis-server to answer',
    () =>
      spawnSync('redis-cli', ['-p', String(port), 'ping'])
        .stdout?.toString()
        .trim() === 'PONG',
    20,
  );
  return redis;
}

describe('the queue when Redis or a worker goes away', function () {
  this.timeout(600000);

  it('Redis restarted empty mid-sweep: the sweep re-queues the lost points and every point runs exactly once', async function () {
    if (spawnSync('redis-server', ['--version']).status !== 0) {
      skipBecause(this, 'no redis-server on PATH to restart (apt-get install redis-server)');
    }
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    let redis = await startRedis(port);
    try {
      const file = quickSweep(LR_GRID(3), 10);
      const out = join(tempDir(), 'sweep');
      const sweep = await queuedSweep(file, out, url, 3);
      const worker = e3Process(['worker', '--queue', url, '--lock-seconds', '5']);
      await until(
        'the worker to run a point',
        () => runDirsLockedBy(join(out, 'runs'), worker.child.pid!).length > 0,
        240,
      );
      redis.kill('SIGKILL'); // no persistence: it comes back without the queue
      await new Promise((done) => redis.once('exit', done));
      redis = await startRedis(port);
      const code = await sweep.exit;
      assert.equal(code, 0, sweep.stderr());
      const requeued = sweep
        .stderr()
        .match(
          /Redis no longer knows its job \(restarted without its data\?\) and its run is pending; queued it again/g,
        );
      assert.equal(requeued?.length, 2, `the 2 points that waited were queued again:\n${sweep.stderr()}`);
      const runs = pointRuns(out);
      assert.equal(Object.keys(runs).length, 3);
      for (const [id, run] of Object.entries(runs)) {
        assert.deepEqual([run.status, run.attempt, starts(out, id)], ['succeeded', 1, 1], `${id} ran once`);
      }
      worker.child.kill('SIGTERM');
      assert.equal(await worker.exit, 143, worker.stderr());
      assert.match(worker.stderr(), /worker \d+ stopped \(SIGTERM\)/);
    } finally {
      redis.kill('SIGKILL');
    }
  });

  describe('with E3_TEST_REDIS', () => {
    before(function () {
      if (!REDIS) {
        skipBecause(this, 'set E3_TEST_REDIS=redis://127.0.0.1:PORT to a running redis-server; .ci/run does');
      }
    });

    it('Ctrl-C on a worker hands its point back: another worker resumes it, nothing is marked failed', async () => {
      const file = quickSweep(LR_GRID(2), 40);
      const out = join(tempDir(), 'sweep');
      const sweep = await queuedSweep(file, out, REDIS!, 2);
      const w1 = e3Process(['worker', '--queue', REDIS!, '--lock-seconds', '5']);
      const stopped = await pointCheckpointedBy(out, w1.child.pid!, 300);
      w1.child.kill('SIGINT');
      assert.equal(await w1.exit, 130, w1.stderr());
      const point = stopped.replace(/[.+]/g, '\\$&');
      assert.match(
        w1.stderr(),
        new RegExp(`point ${point}: stopped \\(SIGINT\\); handed back to the queue for another worker`),
      );
      assert.doesNotMatch(w1.stderr(), /failed/);
      const w2 = e3Process(['worker', '--queue', REDIS!, '--lock-seconds', '5', '--until-empty']);
      assert.equal(await w2.exit, 0, w2.stderr());
      assert.equal(await sweep.exit, 0, sweep.stderr());
      assert.doesNotMatch(sweep.stderr(), /failed/);
      assert.match(w2.stderr(), new RegExp(`point ${point}: resuming its stopped run`));
      const runs = pointRuns(out);
      for (const [id, run] of Object.entries(runs)) {
        assert.equal(run.status, 'succeeded', id);
        assert.equal(run.attempt, id === stopped ? 2 : 1, id);
      }
      const log = readFileSync(join(out, 'runs', stopped, 'run.log'), 'utf8');
      assert.ok(Number(/distill: resumed at step (\d+) from /.exec(log)?.[1]) >= 5, 'resumed from its checkpoint');
    });

    it("--workdir: a stalled worker's point handed on is waited for, never run twice at once", async () => {
      const file = quickSweep(LR_GRID(1), 20);
      const out = join(tempDir(), 'sweep');
      const sweep = await queuedSweep(file, out, REDIS!, 1);
      const [wd1, wd2] = [tempDir(), tempDir()];
      const w1 = e3Process(['worker', '--queue', REDIS!, '--lock-seconds', '2', '--workdir', wd1]);
      await until('worker 1 to run the point', () => runDirsLockedBy(wd1, w1.child.pid!).length > 0, 240);
      w1.child.kill('SIGSTOP'); // stalled: its job lock lapses and the job passes to worker 2
      const w2 = e3Process(['worker', '--queue', REDIS!, '--lock-seconds', '2', '--workdir', wd2, '--until-empty']);
      try {
        await until(
          'worker 2 to take the stalled job',
          () => /: still held by the worker|: (starting|resuming its)/.test(w2.stderr()),
          120,
        );
      } finally {
        w1.child.kill('SIGCONT');
      }
      assert.equal(await w2.exit, 0, w2.stderr());
      assert.equal(await sweep.exit, 0, sweep.stderr());
      assert.match(w2.stderr(), new RegExp(`still held by the worker pid ${w1.child.pid} on .*; waiting`));
      assert.match(w2.stderr(), /already succeeded in .*; not run again/);
      assert.doesNotMatch(w2.stderr(), /: (starting|resuming its)/);
      const [[id, run]] = Object.entries(pointRuns(out));
      assert.deepEqual([run.status, run.attempt, starts(out, id)], ['succeeded', 1, 1]);
      w1.child.kill('SIGTERM');
      await w1.exit;
    });
  });
});
