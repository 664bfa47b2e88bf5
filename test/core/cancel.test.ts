import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { latestStateDir } from '@e3/plugins';
import { ROOT, tempDir, writeFiles } from '../helpers/files.js';
import { useBackend } from '../helpers/tf.js';
import { tinyCheckpoint } from '../helpers/tiny-model.js';

const STOP_PLUGINS = join(ROOT, 'test/dist/helpers/stop-plugins.js');

/** What one spawned `e3 run` did. */
interface Stopped {
  code: number | null;
  stderr: string;
  /** Milliseconds from the (last) signal to the exit. */
  exitMs: number;
  runJson: Record<string, unknown>;
}

/**
 * Runs `e3 run` on `graph` with JSON progress on stderr; once a progress line of task `start`
 * appears (the phase is running), or stderr matches `start` if a pattern, sends `signals`:
 * the first 300 ms later, each next one 700 ms after stderr first matches `again`.
 */
async function runAndStop(
  graph: string,
  out: string,
  start: string | RegExp,
  signals: NodeJS.Signals[],
  opts: { plugin?: boolean; again?: RegExp } = {},
): Promise<Stopped> {
  const args = [join(ROOT, 'bin/e3.js'), 'run', graph, '--out', out, '--progress', 'json'];
  if (opts.plugin) args.push('--plugin', STOP_PLUGINS);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let sentAt = 0;
  let sent = 0;
  const send = (delayMs: number) => {
    const signal = signals[sent++];
    setTimeout(() => {
      sentAt = performance.now();
      child.kill(signal);
    }, delayMs);
  };
  child.stderr.on('data', (d) => {
    const before = stderr;
    stderr += d;
    if (sent === 0) {
      const lines = stderr.split('\n').slice(0, -1);
      const started =
        typeof start === 'string'
          ? lines.some((l) => l.startsWith('{') && JSON.parse(l).task === start)
          : start.test(stderr);
      if (started) send(300);
    } else if (sent < signals.length && opts.again?.test(stderr) && !opts.again.test(before)) send(700);
  });
  const hung = setTimeout(() => child.kill('SIGKILL'), 45000); // a run that does not stop fails, and goes
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  clearTimeout(hung);
  const exitMs = performance.now() - sentAt;
  assert.equal(sent, signals.length, `the signals were not all sent:\n${stderr}`);
  const runJson = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as Record<string, unknown>;
  return { code, stderr, exitMs, runJson };
}

const EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

/** One phase of a run: the graph's nodes after `data` and `m` (the toy model), and the progress task it shows. */
interface Phase {
  readonly name: string;
  readonly task: string;
  readonly nodes: (cacheDir: string) => string;
  readonly plugin?: boolean;
  /** What the stopped run left behind to resume from (or nothing, for an export). */
  readonly after?: (out: string, cacheDir: string) => void;
}

const targets = (cache: string, calibration: number, batchSize = 64) =>
  `  targets: { plugin: teacher.topkCache, params: { dir: ${cache}, calibration: ${calibration}, heldout: 0, ` +
  `batchSize: ${batchSize} }, in: { model: m.model, data: data.data } }\n`;
const search = (params: string) =>
  `  search: { plugin: masker.search, params: { pruneRatio: 0.5, ${params} }, ` +
  `in: { model: m.model, data: data.data, targets: targets.targets } }\n`;
const flushed = (dir: string) => (out: string) =>
  assert.ok(latestStateDir(join(out, 'checkpoints', dir)), `a checkpoint should be flushed in checkpoints/${dir}`);

const PHASES: Phase[] = [
  {
    name: 'the teacher cache',
    task: 'targets',
    nodes: (cache) => targets(cache, 16000, 4),
    after: (_out, cache) => {
      const [folder] = readdirSync(cache);
      const files = readdirSync(join(cache, folder)).filter((f) => f.startsWith('targets-'));
      assert.ok(
        files.some((f) => statSync(join(cache, folder, f)).size > 0),
        'the records computed before the stop should stay in the cache',
      );
    },
  },
  {
    name: 'the initial scores of the search',
    task: 'search:init',
    nodes: (cache) =>
      targets(cache, 8) + search('init: { component: importance.klDrop }, calibration: 4096, batchSize: 4'),
  },
  {
    name: 'the gradient steps of the search',
    task: 'search#0',
    nodes: (cache) =>
      targets(cache, 32) +
      search('init: { component: importance.zeros }, calibration: 32, steps: 100000, restarts: 1, checkpointEvery: 0'),
    after: (out) => {
      flushed('search/restart-0')(out);
      const done = join(out, 'checkpoints/search/restart-0.json');
      assert.ok(!existsSync(done), 'a stopped restart is not recorded as done (a resume continues its steps)');
    },
  },
  {
    name: 'the refinement of the search',
    task: 'search:refine',
    nodes: (cache) =>
      targets(cache, 32) +
      search(
        'init: { component: importance.zeros }, calibration: 1024, batchSize: 4, steps: 2, restarts: 1, ' +
          'candidates: 1, refineRounds: 100, refineBudget: 1000000',
      ),
  },
  {
    name: 'the gradient steps of the trainer',
    task: 'train',
    nodes: () =>
      '  train: { plugin: trainer.train, params: { steps: 100000, batchSize: 8, checkpointEvery: 0 }, ' +
      'in: { model: m.model, data: data.data } }\n',
    after: flushed('train'),
  },
  {
    name: 'distillation',
    task: 'distill',
    nodes: (cache) =>
      targets(cache, 8) +
      '  distill: { plugin: distiller.train, params: { steps: 100000, batchSize: 8, checkpointEvery: 0 }, ' +
      'in: { model: m.model, targets: targets.targets, data: data.data } }\n',
    after: flushed('distill'),
  },
  {
    name: 'evaluation',
    task: 'eval',
    nodes: () =>
      '  eval: { plugin: evaluator.suite, params: { examples: 2000, speed: { enabled: false } }, ' +
      'in: { model: m.model, data: data.data } }\n',
    after: (out) => assert.ok(!existsSync(join(out, 'report.json')), 'a stopped evaluation writes no report'),
  },
  {
    name: 'the export',
    task: 'export',
    plugin: true,
    nodes: () =>
      '  slow: { plugin: test.slowReads, params: { delayMs: 200 }, in: { model: m.model } }\n' +
      '  export: { plugin: exporter.hf, params: { dir: pruned }, in: { model: slow.model } }\n',
    after: (out) =>
      assert.deepEqual(
        readdirSync(out).filter((f) => f.startsWith('pruned')),
        [],
        'a stopped export leaves no directory, whole or partial',
      ),
  },
];

describe('run lifecycle: stopping (SIGINT, SIGTERM)', function () {
  this.timeout(60000);
  let model: string;
  before(async () => {
    await useBackend('wasm');
    model = await tinyCheckpoint({ layers: 8 });
  });

  for (const phase of PHASES) {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      it(`${signal} stops ${phase.name} within seconds: exit ${EXIT_CODES[signal]}, run.json stopped`, async () => {
        const cache = tempDir();
        const g = writeFiles({
          'g.yaml':
            'apiVersion: e3/v1\nbackend: wasm\nnodes:\n' +
            '  data: { plugin: data.arithmetic }\n' +
            `  m: { plugin: model.hfCheckpoint, params: { path: ${model} } }\n` +
            phase.nodes(cache),
        });
        const out = join(tempDir(), 'run');
        const r = await runAndStop(join(g, 'g.yaml'), out, phase.task, [signal], { plugin: phase.plugin });
        assert.equal(r.code, EXIT_CODES[signal], r.stderr);
        assert.match(r.stderr, new RegExp(`run stopped \\(${signal}\\); continue it with: e3 run --resume`));
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
        assert.equal(r.runJson.status, 'stopped');
        assert.equal(r.runJson.signal, signal);
        assert.ok(r.exitMs < 5000, `exited ${(r.exitMs / 1000).toFixed(1)} s after ${signal}`);
        phase.after?.(out, cache);
      });
    }
  }

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`a second ${signal} exits at once while a node ignores the first (exit ${EXIT_CODES[signal]})`, async () => {
      const g = writeFiles({
        'g.yaml':
          'apiVersion: e3/v1\nbackend: wasm\nnodes:\n  wait: { plugin: test.stubborn, params: { seconds: 60 } }\n',
      });
      const out = join(tempDir(), 'run');
      // test.stubborn shows no progress: the run's first line tells that it runs.
      const r = await runAndStop(join(g, 'g.yaml'), out, /run .* \(seed/, [signal, signal], {
        plugin: true,
        again: /run stopped/,
      });
      assert.equal(r.code, EXIT_CODES[signal], r.stderr);
      assert.match(r.stderr, new RegExp(`${signal} again: exiting at once`));
      assert.ok(r.exitMs < 2000, `exited ${(r.exitMs / 1000).toFixed(1)} s after the second ${signal}`);
      assert.equal(r.runJson.status, 'stopped');
      assert.equal(r.runJson.signal, signal);
    });
  }
});
