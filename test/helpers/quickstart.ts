import { join } from 'node:path';
import { e3 } from './files.js';

/** graphs/quickstart.yaml (or an overlay of it) cut to a few seconds, teacher cache beside the run, through the CLI. */
export function reducedQuickstart(
  run: string,
  extra: string[] = [],
  graph = 'graphs/quickstart.yaml',
  timeoutMs = 300000,
): ReturnType<typeof e3> {
  return e3(
    [
      'run',
      graph,
      '--out',
      run,
      '--set',
      `nodes.targets.params.dir=${join(run, '..', 'cache')}`,
      '--set',
      'nodes.targets.params.calibration=64',
      '--set',
      'nodes.targets.params.heldout=32',
      '--set',
      'nodes.search.params.steps=12',
      '--set',
      'nodes.search.params.calibration=64',
      '--set',
      'nodes.distill.params.steps=6',
      '--set',
      'nodes.distill.params.evalEvery=3',
      '--set',
      'nodes.distill.params.evalExamples=16',
      '--set',
      'nodes.eval.params.examples=32',
      '--set',
      'nodes.eval.params.speed.repeats=1',
      '--set',
      'nodes.eval.params.speed.prompts=4',
      ...extra,
    ],
    { timeoutMs },
  );
}
