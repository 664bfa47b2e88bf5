import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { e3, tempDir, writeFiles } from './files.js';

/** The first nodes of most pipelines, small: data (given as YAML), the shipped teacher, its cache. */
export function teacherGraph(data: string, cacheDir: string, more = ''): string {
  return (
    [
      'apiVersion: e3/v1',
      'seed: 0',
      'nodes:',
      `  data: ${data}`,
      '  teacher: { plugin: model.hfCheckpoint, params: { path: models/arith-teacher } }',
      `  targets: { plugin: teacher.topkCache, params: { k: 2, dir: "${cacheDir}", calibration: 64, heldout: 64 }, ` +
        'in: { model: teacher.model, data: data.data } }',
      more,
    ].join('\n') + '\n'
  );
}

/** A data.jsonl node over `path` (extra params as YAML, e.g. `heldoutFraction: 0`). */
export function jsonlNode(path: string, params = ''): string {
  return `{ plugin: data.jsonl, params: { path: "${path}"${params ? `, ${params}` : ''} } }`;
}

/** Runs a graph through the CLI into a fresh run directory; returns the result, the run directory and its log. */
export function runGraph(graph: string, args: string[] = [], timeoutMs = 120_000) {
  const dir = writeFiles({ 'g.yaml': graph });
  const out = join(tempDir(), 'run');
  const r = e3(['run', join(dir, 'g.yaml'), '--out', out, '--quiet', ...args], { timeoutMs });
  let log = '';
  try {
    log = readFileSync(join(out, 'run.log'), 'utf8');
  } catch {
    /* the run stopped before its log */
  }
  return { ...r, out, log };
}

/** The opening of a wasm graph on arithmetic data and the checkpoint at `model` (nodes follow, indented 2). */
export function arithmeticGraphHead(model: string, seed = 0): string {
  return (
    [
      'apiVersion: e3/v1',
      `seed: ${seed}`,
      'backend: wasm',
      'nodes:',
      '  data: { plugin: data.arithmetic, params: { maxOperand: 9, heldoutFraction: 0.2 } }',
      `  teacher: { plugin: model.hfCheckpoint, params: { path: ${model} } }`,
    ].join('\n') + '\n'
  );
}
