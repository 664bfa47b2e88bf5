import { convertWork, copyWork, unwiredWork, type NodeWork, type WorkInput } from '../work.js';
import { madeModel, unwired, type MemoryEstimator } from '../node-memory.js';
import { perTensor, weights } from '../stage-memory.js';

/** model.hfCheckpoint and model.init: every weight read (or drawn) and converted to f32 once. */
export function loadWork(n: WorkInput): NodeWork {
  const m = n.shapes.modelOf(n.id);
  return m ? { phases: [convertWork(m, 'weights read and converted to f32')] } : unwiredWork('model');
}

/** model.prune: the kept blocks and the rest copied. */
export function pruneWork(n: WorkInput): NodeWork {
  const m = n.shapes.modelOf(n.id);
  return m ? { phases: [copyWork(m, 'kept weights copied', 8)] } : unwiredWork('model');
}

/** model.hfCheckpoint: its weights, and one tensor read at a time. */
export const loadMemory: MemoryEstimator = (n) =>
  madeModel(n, (m) => [weights(m, 'weights'), perTensor(m, 4, 'one tensor read at a time (at most 4 bytes a value)')]);

/** model.init: its weights. */
export const initMemory: MemoryEstimator = (n) => madeModel(n, (m) => [weights(m, 'weights')]);

/** model.prune: the pruned copy. */
export const pruneMemory: MemoryEstimator = (n) => {
  const m = n.shapes.modelOf(n.id);
  return m ? { items: [weights(m, 'pruned copy')], output: m } : unwired('model');
};
