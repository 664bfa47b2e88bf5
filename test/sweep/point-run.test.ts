import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProgram, pointRun, RUN_DEFAULTS, runArgs, type PointJob, type RunRequest } from '@e3/cli';
import { tempDir } from '../helpers/files.js';

const JOB: PointJob = {
  sweepId: 'abc',
  point: 'lr=0.01,seed=3',
  dir: 'runs/lr=0.01,seed=3',
  graph: '/graphs/tiny.yaml',
  sets: ['nodes.distill.params.lr=0.01', 'nodes.search.params.steps=4'],
  seed: 3,
  cache: '/sweep/cache',
  storage: 'file:///sweep',
};

/** What `e3 run ARGS` would run: the request its parser hands to the run command's action. */
async function parsedRun(args: string[]): Promise<RunRequest> {
  const program = buildProgram([]);
  let request: RunRequest | undefined;
  program.commands
    .find((c) => c.name() === 'run')!
    .action((graph: string | undefined, o: Omit<RunRequest, 'graph'>) => {
      request = { ...o, graph };
    });
  await program.parseAsync(['node', 'e3', ...args]);
  return request!;
}

describe("a sweep point's run: one request, in process (e3 worker) or as e3 run arguments (local runner)", () => {
  it('starts in a fresh run directory, and resumes one that holds a run.json', () => {
    const fresh = tempDir();
    assert.deepEqual(pointRun(JOB, fresh, '/own/cache'), {
      graph: '/graphs/tiny.yaml',
      set: ['nodes.distill.params.lr=0.01', 'nodes.search.params.steps=4'],
      seed: 3,
      cache: '/own/cache',
      quiet: true,
      out: fresh,
    });
    writeFileSync(join(fresh, 'run.json'), '{"status":"stopped"}');
    const resumed = pointRun(JOB, fresh, JOB.cache);
    assert.equal(resumed.resume, fresh);
    assert.equal(resumed.out, undefined);
    assert.deepEqual(runArgs(resumed), [
      'run',
      '/graphs/tiny.yaml',
      '--set',
      'nodes.distill.params.lr=0.01',
      '--set',
      'nodes.search.params.steps=4',
      '--seed',
      '3',
      '--cache',
      '/sweep/cache',
      '--quiet',
      '--resume',
      fresh,
    ]);
  });

  it("e3 run's parser reads the local runner's arguments as the very request the worker makes", async () => {
    const fresh = tempDir();
    const stopped = tempDir();
    writeFileSync(join(stopped, 'run.json'), '{"status":"stopped"}');
    for (const dir of [fresh, stopped]) {
      const point = pointRun(JOB, dir, JOB.cache);
      assert.deepEqual(await parsedRun(runArgs(point)), { ...RUN_DEFAULTS, ...point });
    }
  });
});
