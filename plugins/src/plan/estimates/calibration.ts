import type { LayerImportance } from '../../importance/importance.js';
import { unwiredWork, type NodeWork, type WorkInput, type WorkPhase } from '../work.js';
import { binomial } from '../../masker/exhaustive-node.js';
import { keepCount } from '../../masker/prune-amount.js';
import { maskScoring } from './search.js';
import { calibration, unwired, type MemoryEstimator } from '../node-memory.js';

/** masker.importance: the masks its score component says it evaluates, and the chosen mask's check. */
export function importanceWork(n: WorkInput): NodeWork {
  const m = n.shapes.modelAt(n.id, 'model');
  if (!m) return unwiredWork('model');
  const L = m.config.numLayers;
  const K = keepCount(n.params as never, L, n.id);
  const score = n.params.score as LayerImportance | undefined;
  const masks = (typeof score?.evaluations === 'function' ? score.evaluations(L, K, 'select') : 1) + 2;
  return { phases: [maskScoring(n, 'importance scores', masks)].filter((x): x is WorkPhase => !!x) };
}

/** masker.exhaustive: every K-of-L mask on the calibration set. */
export function exhaustiveWork(n: WorkInput): NodeWork {
  const m = n.shapes.modelAt(n.id, 'model');
  if (!m) return unwiredWork('model');
  const L = m.config.numLayers;
  const K = keepCount(n.params as never, L, n.id);
  const masks = Math.min(binomial(L, K), n.params.maxMasks) + 1;
  return { phases: [maskScoring(n, 'every mask', masks, K)].filter((x): x is WorkPhase => !!x) };
}

/** masker.importance: calibration scoring (hidden states for the scores that read them). */
export const importanceMemory: MemoryEstimator = (n) => {
  const m = n.shapes.modelAt(n.id, 'model');
  return m
    ? { items: calibration(m, n, n.shapes.sequenceTokens(n.id, m), n.params.score?.component) }
    : unwired('model');
};

/** masker.exhaustive: calibration scoring. */
export const exhaustiveMemory: MemoryEstimator = (n) => {
  const m = n.shapes.modelAt(n.id, 'model');
  return m ? { items: calibration(m, n, n.shapes.sequenceTokens(n.id, m)) } : unwired('model');
};
