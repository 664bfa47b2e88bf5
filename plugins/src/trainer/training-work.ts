import {
  forwardWork,
  microBatches,
  stepWork,
  unwiredWork,
  type NodeWork,
  type WorkInput,
  type WorkPhase,
} from '../plan/work.js';

/**
 * trainer.train and distiller.train: `steps` gradient steps of `batchSize` examples (weights
 * train), the teacher's targets for the training examples (a distiller's first pass over them),
 * and the held-out checks every `evalEvery` steps (teacher and student forwards, and greedy
 * answers of `maxNewTokens`).
 */
export function trainingWork(n: WorkInput): NodeWork {
  const m = n.shapes.modelAt(n.id, 'model');
  if (!m) return unwiredWork('model');
  const p = n.params;
  const T = n.shapes.sequenceTokens(n.id, m);
  const B = p.batchSize;
  const step = stepWork(
    m,
    'gradient steps',
    {
      tokens: B * T,
      T,
      fused: n.fused,
      batches: microBatches(B, p.microBatch),
      weightGradients: true,
      recompute: p.gradientCheckpointing === true,
      trained: m.parameters,
    },
    p.steps,
  );
  const phases: WorkPhase[] = [step];
  const cache = n.shapes.producer(n.id, 'targets');
  const teacher = cache === undefined ? undefined : n.shapes.modelAt(cache, 'model');
  if (teacher)
    phases.push(
      forwardWork(teacher, 'teacher targets', { tokens: p.steps * B * T, T, fused: n.fused, batches: p.steps }),
    );
  if (p.evalEvery > 0) {
    // At step 0, every evalEvery steps, and at the last step (distiller-node.ts).
    const checks = 1 + Math.floor(p.steps / p.evalEvery) + (p.steps % p.evalEvery ? 1 : 0);
    const ex = p.evalExamples;
    const batches = Math.ceil(ex / 128);
    const pass = { tokens: ex * T, T, fused: n.fused, batches };
    phases.push(forwardWork(m, 'held-out checks', pass, checks));
    phases.push(
      forwardWork(m, 'held-out answers', { tokens: ex, T, fused: n.fused, batches }, checks * p.maxNewTokens),
    );
  }
  return { phases };
}
