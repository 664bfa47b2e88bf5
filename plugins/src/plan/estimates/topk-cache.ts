import { copyWork, forwardWork, unwiredWork, type NodeWork, type WorkInput } from '../work.js';
import { HEAD_LIVE, unwired, type MemoryEstimator } from '../node-memory.js';
import { forwardPass, headChunk, perTensor, targets } from '../stage-memory.js';

/**
 * teacher.topkCache: the teacher over the calibration and held-out examples it computes up front
 * (none when its directory already holds them: the plan does not look) and the weights read back
 * for its fingerprint. Training examples are computed when a trainer first asks: their cost is
 * the distiller's.
 */
export function topkCacheWork(n: WorkInput): NodeWork {
  const m = n.shapes.modelAt(n.id, 'model');
  if (!m) return unwiredWork('model');
  const p = n.params;
  const T = n.shapes.typicalTokens(n.id, m, p.batchSize);
  const examples = p.calibration + p.heldout;
  const pass = { tokens: examples * T, T, fused: n.fused, batches: Math.ceil(examples / p.batchSize) };
  return { phases: [forwardWork(m, 'teacher forward', pass), copyWork(m, 'fingerprint', 4)] };
}

/** teacher.topkCache: a teacher batch, its head chunk and targets; it holds its teacher. */
export const topkCacheMemory: MemoryEstimator = (n) => {
  const m = n.shapes.modelAt(n.id, 'model');
  if (!m) return unwired('model');
  const p = n.params;
  const T = n.shapes.sequenceTokens(n.id, m);
  const N = p.batchSize * T;
  return {
    items: [
      ...forwardPass(m, { B: p.batchSize, T, param: 'batchSize' }, n.exec, 'teacher forward'),
      headChunk(m, N, p.headChunkTokens, HEAD_LIVE.teacherTopK, 'softmax, top-k, entropy'),
      targets(N, p.k),
      perTensor(m, 4, 'fingerprint: one weight read back at a time'),
    ],
    holds: ['model'],
  };
};
