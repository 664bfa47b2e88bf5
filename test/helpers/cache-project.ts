import { cpSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { e3, ROOT, tempDir } from './files.js';

/** What `e3 run --cache` recorded: run.json's `cache` and the run log. */
export interface CachedRun {
  readonly code: number;
  readonly stderr: string;
  readonly cache: { reused: Record<string, string>; stored: Record<string, string>; damaged: Record<string, string> };
  readonly log: string;
}

/**
 * A project directory holding a copy of the shipped 8-layer teacher (models/arith-teacher) and
 * `g.yaml`: arithmetic data (or `data`, a node as YAML), the teacher, and a deterministic
 * `masker.importance` node `mask` (a quarter of the layers, 32 calibration examples).
 */
export function teacherProject(data = '{ plugin: data.arithmetic, params: { maxOperand: 9, heldoutFraction: 0.2 } }') {
  const dir = tempDir('e3-cache-project-');
  cpSync(join(ROOT, 'models', 'arith-teacher'), join(dir, 'models', 'arith-teacher'), { recursive: true });
  const graph = [
    'apiVersion: e3/v1',
    'seed: 0',
    'backend: wasm',
    'nodes:',
    `  data: ${data}`,
    '  teacher: { plugin: model.hfCheckpoint, params: { path: models/arith-teacher } }',
    '  mask:',
    '    plugin: masker.importance',
    '    params: { pruneRatio: 0.25, calibration: 32, score: { component: importance.blockInfluence } }',
    '    in: { model: teacher.model, data: data.data }',
  ].join('\n');
  writeFileSync(join(dir, 'g.yaml'), graph + '\n');
  wholeSecondTimes(join(dir, 'models', 'arith-teacher', 'model.safetensors'));
  return dir;
}

/**
 * Sets a file's times to a whole second, which `utimesSync` restores exactly: after
 * {@link rewriteInPlace}, size, mtime and inode are then as before and only ctime tells.
 */
export function wholeSecondTimes(file: string): void {
  const t = new Date(Math.floor(statSync(file).mtimeMs / 1000) * 1000 - 60_000);
  utimesSync(file, t, t);
}

let runs = 0;

/** `e3 run GRAPH --cache CACHE` from `cwd` into a fresh run directory. */
export function cachedRun(cwd: string, cache: string, extra: string[] = [], graph = 'g.yaml'): CachedRun {
  const out = join(tempDir(), `run-${++runs}`);
  const r = e3(['run', graph, '--out', out, '--cache', cache, '--quiet', ...extra], { cwd });
  let run: { cache?: CachedRun['cache'] } = {};
  let log = '';
  try {
    run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    log = readFileSync(join(out, 'run.log'), 'utf8');
  } catch {
    /* the run failed before writing them: code and stderr say why */
  }
  return { code: r.code, stderr: r.stderr, cache: run.cache ?? { reused: {}, stored: {}, damaged: {} }, log };
}

/**
 * Rewrites bytes of a file in place at `offset` (same size, same inode), then sets its times back
 * to what they were (exactly, after {@link wholeSecondTimes}): only the content and the inode's
 * ctime, which no user call can set, show the change.
 */
export function rewriteInPlace(file: string, offset: number, bytes: Buffer): void {
  const before = statSync(file, { bigint: true });
  const data = readFileSync(file);
  bytes.copy(data, offset);
  writeFileSync(file, data);
  utimesSync(file, new Date(Number(before.atimeMs)), new Date(Number(before.mtimeMs)));
  const after = statSync(file, { bigint: true });
  if (after.mtimeNs !== before.mtimeNs || after.ino !== before.ino || after.size !== before.size) {
    throw new Error(`rewriteInPlace: ${file} changed more than its content and ctime`);
  }
}

/** The stored outputs of entry `key` in `cache`. */
export function entryOutputs(cache: string, key: string): Record<string, unknown[]> {
  return JSON.parse(readFileSync(join(cache, 'nodes', key, 'outputs.json'), 'utf8'));
}

/** An entry record for unit tests of the store (what NodeReuse passes to `save`). */
export const entryMeta = (key: string) => ({
  key,
  plugin: 'masker.fixed',
  node: 'mask',
  run: '/r',
  createdAt: 'now',
  version: '0',
});
