import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import pLimit from 'p-limit';
import { runArgs, type PointJob } from './point-job.js';
import { readPointStatus } from './sweep-state.js';

/** The e3 command line script of this process (bin/e3.js), to start `e3 run` children with. */
function e3Script(): string {
  return process.argv[1] ?? resolve(new URL('../../../bin/e3.js', import.meta.url).pathname);
}

/** One point as an `e3 run` child process; resolves with its exit code and the end of its stderr. */
function runChild(args: string[], signal: AbortSignal): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [e3Script(), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-4000);
    });
    const stop = () => child.kill('SIGINT');
    signal.addEventListener('abort', stop, { once: true });
    child.on('close', (code) => {
      signal.removeEventListener('abort', stop);
      done({ code: code ?? 1, stderr });
    });
  });
}

/**
 * Runs the points that have not succeeded, `parallel` at a time, each as an `e3 run` child
 * process (its own CPU and memory; a crash or leak stays in it). A stopped point resumes in its
 * run directory. Returns the points that failed with the end of their error output.
 */
export async function runLocal(
  jobs: PointJob[],
  sweepDir: string,
  parallel: number,
  signal: AbortSignal,
  report: (line: string) => void,
): Promise<{ point: string; error: string }[]> {
  const todo = jobs.filter((j) => !['succeeded', 'running'].includes(readPointStatus(join(sweepDir, j.dir)).status));
  const limit = pLimit(parallel);
  const failed: { point: string; error: string }[] = [];
  let finished = 0;
  await Promise.all(
    todo.map((job) =>
      limit(async () => {
        if (signal.aborted) return;
        const runDir = join(sweepDir, job.dir);
        const resumed = readPointStatus(runDir).status !== 'pending';
        report(`${resumed ? 'resuming' : 'starting'} ${job.point}`);
        const r = await runChild(runArgs(job, runDir, job.cache), signal);
        finished++;
        const st = readPointStatus(runDir);
        report(
          `[${finished}/${todo.length}] ${job.point}: ${st.status}` +
            (st.wallSeconds !== undefined ? ` (${st.wallSeconds.toFixed(1)} s)` : ''),
        );
        if (r.code !== 0) failed.push({ point: job.point, error: r.stderr.trim().split('\n').slice(-3).join(' / ') });
      }),
    ),
  );
  return failed;
}
