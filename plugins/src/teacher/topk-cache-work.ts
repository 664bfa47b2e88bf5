import { copyWork, forwardWork, unwiredWork, type NodeWork, type WorkInput } from '../plan/work.js';

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
  const T = n.shapes.sequenceTokens(n.id, m);
  const examples = p.calibration + p.heldout;
  const pass = { tokens: examples * T, T, fused: n.fused, batches: Math.ceil(examples / p.batchSize) };
  return { phases: [forwardWork(m, 'teacher forward', pass), copyWork(m, 'fingerprint', 4)] };
}
