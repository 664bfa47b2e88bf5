import { copyWork, unwiredWork, type NodeWork, type WorkInput } from '../plan/work.js';

/** model.hfCheckpoint and model.init: every weight read (or drawn) and converted to f32 once. */
export function loadWork(n: WorkInput): NodeWork {
  const m = n.shapes.modelOf(n.id);
  return m ? { phases: [copyWork(m, 'weights read and converted', 8)] } : unwiredWork('model');
}

/** model.prune: the kept blocks and the rest copied. */
export function pruneWork(n: WorkInput): NodeWork {
  const m = n.shapes.modelOf(n.id);
  return m ? { phases: [copyWork(m, 'kept weights copied', 8)] } : unwiredWork('model');
}
