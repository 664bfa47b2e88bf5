import { copyWork, unwiredWork, type NodeWork, type WorkInput } from '../plan/work.js';

/** exporter.hf: every weight read back (4 bytes), encoded and written (up to 4 bytes), then read to check. */
export function exporterWork(n: WorkInput): NodeWork {
  const m = n.shapes.modelAt(n.id, 'model');
  if (!m) return unwiredWork('model');
  return { phases: [copyWork(m, 'read back, encode, write, verify', 12)] };
}
