import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCK_FILE, lockRunDirFor, pidAlive, readJsonObject } from '@e3/core';
import { pointRun, runArgs, type PointJob } from './point-job.js';
import { readPointStatus } from './sweep-state.js';

/** The e3 command line script of this process (bin/e3.js), to start `e3 run` children with. */
function e3Script(): string {
  return process.argv[1] ?? resolve(new URL('../../../bin/e3.js', import.meta.url).pathname);
}

/**
 * One point as an `e3 run` child process; resolves with its exit code and the end of its stderr.
 * Its run directory is locked for it from its start (lockRunDirFor), so that no other sweep
 * counts the point as pending while the child loads.
 */
function runChild(args: string[], runDir: string, signal: AbortSignal): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [e3Script(), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    const locked = child.pid === undefined ? 'busy' : lockRunDirFor(runDir, child.pid);
    const lock = locked === 'busy' ? undefined : locked;
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-4000);
    });
    const stop = () => child.kill('SIGINT');
    signal.addEventListener('abort', stop, { once: true });
    child.on('close', (code) => {
      lock?.release();
      signal.removeEventListener('abort', stop);
      done({ code: code ?? 1, stderr });
    });
  });
}

/** The pid in a run directory's run.lock (who runs it), if any and on this machine. */
function lockPid(runDir: string): number | undefined {
  const lock = readJsonObject(join(runDir, LOCK_FILE));
  return typeof lock?.pid === 'number' && lock.host === hostname() ? lock.pid : undefined;
}

/**
 * Runs the points that have not succeeded, `parallel` at a time, each as an `e3 run` child
 * process (its own CPU and memory; a crash or leak stays in it). A stopped point resumes in its
 * run directory. `parallel` bounds every run of the sweep, not only this process's: a point still
 * running under another process (the child of an `e3 sweep` that was killed) takes a slot and is
 * waited for; its outcome counts as if this process had run it, and if it stopped, it is resumed.
 * Returns the points that failed with the end of their error output.
 */
export async function runLocal(
  jobs: PointJob[],
  sweepDir: string,
  parallel: number,
  signal: AbortSignal,
  report: (line: string) => void,
): Promise<{ point: string; error: string }[]> {
  const dirOf = (job: PointJob) => join(sweepDir, job.dir);
  const todo = jobs.filter((j) => readPointStatus(dirOf(j)).status !== 'succeeded');
  const ours = new Map<string, Promise<void>>();
  const settled = new Set<string>();
  const others = new Map<string, number | undefined>(); // points seen running under another process: its pid
  const failed: { point: string; error: string }[] = [];
  const finish = (job: PointJob, code: number, stderr: string) => {
    settled.add(job.point);
    const st = readPointStatus(dirOf(job));
    report(
      `[${settled.size}/${todo.length}] ${job.point}: ${st.status}` +
        (st.wallSeconds !== undefined ? ` (${st.wallSeconds.toFixed(1)} s)` : ''),
    );
    if (code !== 0) failed.push({ point: job.point, error: stderr.trim().split('\n').slice(-3).join(' / ') });
  };
  const start = (job: PointJob) => {
    const runDir = dirOf(job);
    report(`${readPointStatus(runDir).status !== 'pending' ? 'resuming' : 'starting'} ${job.point}`);
    const done = runChild(runArgs(pointRun(job, runDir, job.cache)), runDir, signal).then((r) => {
      ours.delete(job.point);
      finish(job, r.code, r.stderr);
    });
    ours.set(job.point, done);
  };
  for (;;) {
    const running: PointJob[] = [];
    const startable: PointJob[] = [];
    for (const job of todo) {
      if (ours.has(job.point) || settled.has(job.point)) continue;
      const st = readPointStatus(dirOf(job));
      const pid = others.get(job.point);
      if (st.status === 'running' || (pid !== undefined && pidAlive(pid))) {
        // until its process has exited, not only released the run directory
        if (!others.has(job.point)) {
          others.set(job.point, lockPid(dirOf(job)));
          report(
            `${job.point}: still running under pid ${others.get(job.point)}; waiting for it (it counts in --parallel)`,
          );
        }
        running.push(job);
      } else if (st.status === 'succeeded' || (others.has(job.point) && st.status === 'failed')) {
        finish(job, st.status === 'succeeded' ? 0 : 1, `e3: ${st.error ?? 'failed'}`);
      } else startable.push(job);
    }
    while (!signal.aborted && ours.size + running.length < parallel && startable.length) start(startable.shift()!);
    if (ours.size === 0 && (signal.aborted || (running.length === 0 && startable.length === 0))) break;
    await Promise.race([...ours.values(), sleep(1000)]);
  }
  return failed;
}
