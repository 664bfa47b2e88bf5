import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir, writeFiles } from './files.js';

/**
 * A sweep file over the quickstart graph on the shipped 8-layer teacher, cut down to seconds per
 * point (a 6-step search, `distillSteps` distillation steps checkpointed every 5, a small eval).
 * `body` holds the file's grid/overlays/seeds lines. Returns the sweep file's path.
 */
export function quickSweep(body: string, distillSteps = 4): string {
  const teacherCache = join(tempDir(), 'teacher-cache');
  const text =
    [
      'apiVersion: e3/v1',
      'kind: Sweep',
      `graph: ${join(ROOT, 'graphs/quickstart.yaml')}`,
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
