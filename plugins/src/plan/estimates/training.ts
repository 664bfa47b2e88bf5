import {
  forwardWork,
  microBatches,
  stepWork,
  unwiredWork,
  type NodeWork,
  type WorkInput,
  type WorkPhase,
} from '../work.js';
import { stepMemory } from '../../trainer/memory-options.js';
import { cacheK, training, unwired, type MemoryEstimator, type StepBatch } from '../node-memory.js';
import { targets, weights } from '../stage-memory.js';

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
  const B = p.batchSize;
  const T = n.shapes.typicalTokens(n.id, m, B / microBatches(B, p.microBatch));
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
    const Te = n.shapes.typicalTokens(n.id, m, Math.min(ex, 128));
    const pass = { tokens: ex * Te, T: Te, fused: n.fused, batches };
    phases.push(forwardWork(m, 'held-out checks', pass, checks));
    phases.push(
      forwardWork(m, 'held-out answers', { tokens: ex, T: Te, fused: n.fused, batches }, checks * p.maxNewTokens),
    );
  }
  return { phases };
}

/** The step batch of trainer.train and distiller.train. */
export const trainingBatch: StepBatch = (p) => p.batchSize;

/** distiller.train: the trained copy, its step (per micro-batch), the batch's targets, maybe teacher hidden states. */
export const distillerMemory: MemoryEstimator = (n) => {
  const m = n.shapes.modelAt(n.id, 'model');
  if (!m) return unwired('model');
  const T = n.shapes.sequenceTokens(n.id, m);
  const p = n.params;
  const teacher = n.shapes.modelAt(n.id, 'teacher');
  const B = stepMemory(p, p.batchSize).microBatch; // training-step.ts: per micro-batch
  const hidden =
    teacher && p.loss.some((l: { component: string }) => l.component === 'loss.hiddenMse')
      ? [
          {
            what: `teacher hidden states, ${teacher.config.numLayers + 1} × ${B}×${T} tokens`,
            bytes: 4 * (teacher.config.numLayers + 1) * B * T * teacher.config.hiddenSize,
            kind: 'activations' as const,
            param: 'microBatch',
          },
        ]
      : [];
  return {
    items: [weights(m, 'trained copy'), ...training(m, n, T), targets(p.batchSize * T, cacheK(n)), ...hidden],
    output: m,
  };
};

/** trainer.train: the trained copy and its step. */
export const trainerMemory: MemoryEstimator = (n) => {
  const m = n.shapes.modelAt(n.id, 'model');
  return m
    ? { items: [weights(m, 'trained copy'), ...training(m, n, n.shapes.sequenceTokens(n.id, m))], output: m }
    : unwired('model');
};
