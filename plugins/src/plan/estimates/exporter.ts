import { convertWork, unwiredWork, type NodeWork, type WorkInput } from '../work.js';
import { unwired, type MemoryEstimator } from '../node-memory.js';
import { perTensor } from '../stage-memory.js';

/** exporter.hf: every weight read back, encoded to the checkpoint's dtype and written (one conversion pass). */
export function exporterWork(n: WorkInput): NodeWork {
  const m = n.shapes.modelAt(n.id, 'model');
  if (!m) return unwiredWork('model');
  return { phases: [convertWork(m, 'encoded to the checkpoint dtype and written')] };
}

/** exporter.hf: one tensor read back and encoded at a time. */
export const exporterMemory: MemoryEstimator = (n) => {
  const m = n.shapes.modelAt(n.id, 'model');
  return m ? { items: [perTensor(m, 6, 'one tensor read back and encoded at a time')] } : unwired('model');
};
