import { join } from 'node:path';
import { e3, ROOT, writeFiles } from './files.js';

/** A graph's first lines: data, the shipped teacher and a small teacher cache in `cache` (nodes indented 2). */
export function arithGraphHead(cache: string): string {
  return `apiVersion: e3/v1
nodes:
  data: { plugin: data.arithmetic }
  teacher: { plugin: model.hfCheckpoint, params: { path: ${join(ROOT, 'models', 'arith-teacher')} } }
  targets:
    plugin: teacher.topkCache
    params: { k: 4, dir: ${cache}, calibration: 32, heldout: 16 }
    in: { model: teacher.model, data: data.data }
`;
}

/** A distiller.train node's few-step params and wires (at `indent`), for graphs that must run in seconds. */
export function quickDistill(indent: string, extraParams = ''): string {
  return [
    'plugin: distiller.train',
    `params: { steps: 3, batchSize: 8, warmupSteps: 0, evalEvery: 0, checkpointEvery: 0${extraParams} }`,
    'in: { model: pruned.model, targets: targets.targets, data: data.data, teacher: teacher.model }',
  ]
    .map((l) => indent + l + '\n')
    .join('');
}

/** An evaluator.suite node on a few examples, no speed test (at `indent`), reading `wires`. */
export function quickEval(indent: string, wires: string): string {
  return ['plugin: evaluator.suite', 'params: { examples: 8, speed: { enabled: false } }', `in: { ${wires} }`]
    .map((l) => indent + l + '\n')
    .join('');
}

/**
 * Writes `text` as g.yaml and runs `e3 validate` on it; `where(lineNeedle, colNeedle)` is the
 * `g.yaml:line:col` of `colNeedle` on the first line holding `lineNeedle` (1-based, as e3 prints).
 */
export function validateGraphText(text: string): {
  r: ReturnType<typeof e3>;
  where: (lineNeedle: string, colNeedle?: string) => string;
} {
  const dir = writeFiles({ 'g.yaml': text });
  const lines = text.split('\n');
  const where = (lineNeedle: string, colNeedle = lineNeedle) => {
    const n = lines.findIndex((l) => l.includes(lineNeedle));
    return `g.yaml:${n + 1}:${lines[n].indexOf(colNeedle) + 1}`;
  };
  return { r: e3(['validate', join(dir, 'g.yaml')]), where };
}
