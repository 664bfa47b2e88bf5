import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, tempDir, writeFiles } from './files.js';

/**
 * A sweep file over the quickstart graph on the shipped 8-layer teacher, cut down to seconds per
 * point (a 6-step search, `distillSteps` distillation steps checkpointed every 5, a small eval).
 * `body` holds the file's grid/overlays/seeds lines. Returns the sweep file's path.
 */
export function quickSweep(body: string, distillSteps = 4, graph = 'graphs/quickstart.yaml'): string {
  const teacherCache = join(tempDir(), 'teacher-cache');
  const text =
    [
      'apiVersion: e3/v1',
      'kind: Sweep',
      `graph: ${join(ROOT, graph)}`,
      'set:',
      `  nodes.targets.params: { dir: "${teacherCache}", calibration: 64, heldout: 32 }`,
      '  nodes.search.params.steps: 6',
      '  nodes.search.params.restarts: 1',
      '  nodes.search.params.calibration: 64',
      `  nodes.distill.params.steps: ${distillSteps}`,
      '  nodes.distill.params.checkpointEvery: 5',
      '  nodes.distill.params.evalEvery: 0',
      '  nodes.eval.params.examples: 16',
      '  nodes.eval.params.speed: { repeats: 1, prompts: 2 }',
      body,
    ].join('\n') + '\n';
  return join(writeFiles({ 'sweep.yaml': text }), 'sweep.yaml');
}

/** run.json of every point of a sweep directory, by point id. */
export function pointRuns(sweepDir: string): Record<string, Record<string, any>> {
  const runs = join(sweepDir, 'runs');
  return Object.fromEntries(
    readdirSync(runs).map((id) => [id, JSON.parse(readFileSync(join(runs, id, 'run.json'), 'utf8'))]),
  );
}

export const SAMPLER_GRID =
  'grid:\n  nodes.search.params.sampler.component: [sampler.gumbelTopk, sampler.deterministicTopk]';

/** `e3 …` as a child process, its stderr collected; `exit` is its code, or -1 when a signal ended it. */
export function e3Process(args: string[]): { child: ChildProcess; stderr: () => string; exit: Promise<number> } {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'e3.js'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
  });
  child.stdout!.resume();
  const exit = new Promise<number>((done) => child.on('close', (code, signal) => done(code ?? (signal ? -1 : 0))));
  return { child, stderr: () => err, exit };
}

/** Waits until `ok()` holds, checking 5 times a second; fails after `seconds`. */
export async function until(what: string, ok: () => boolean, seconds: number): Promise<void> {
  for (let i = 0; i < seconds * 5; i++) {
    if (ok()) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Whether a whole distillation checkpoint (`step-N`, not a `.partial`) is saved in `runDir`. */
export function hasDistillCheckpoint(runDir: string): boolean {
  const dir = join(runDir, 'checkpoints', 'distill');
  return existsSync(dir) && readdirSync(dir).some((name) => /^step-\d+$/.test(name));
}

/** The run directories under `root` (at any depth) whose run.lock names `pid`. */
export function runDirsLockedBy(root: string, pid: number): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('run.lock'))
    .map((f) => dirname(join(root, f)))
    .filter((dir) => {
      try {
        return JSON.parse(readFileSync(join(dir, 'run.lock'), 'utf8')).pid === pid;
      } catch {
        return false;
      }
    });
}

/** The point of the sweep in `sweepDir` that `pid` runs and has a distillation checkpoint of, if any. */
export function checkpointedPointOf(sweepDir: string, pid: number): string | undefined {
  const dir = runDirsLockedBy(join(sweepDir, 'runs'), pid).find(hasDistillCheckpoint);
  return dir && basename(dir);
}

/** Starts `e3 sweep FILE --out OUT --queue URL` and waits until it has queued its `n` points. */
export async function queuedSweep(file: string, out: string, url: string, n: number) {
  const sweep = e3Process(['sweep', file, '--out', out, '--queue', url]);
  await until('the points to be queued', () => new RegExp(`queued ${n} point`).test(sweep.stderr()), 120);
  return sweep;
}

/** Waits until the worker `pid` has checkpointed a distillation of a point of the sweep; returns the point. */
export async function pointCheckpointedBy(sweepDir: string, pid: number, seconds: number): Promise<string> {
  let point: string | undefined;
  await until(
    'the worker to checkpoint a distillation',
    () => (point = checkpointedPointOf(sweepDir, pid)) !== undefined,
    seconds,
  );
  return point!;
}
