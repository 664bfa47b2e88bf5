import {
  forwardWork,
  microBatches,
  stepWork,
  unwiredWork,
  type NodeWork,
  type WorkInput,
  type WorkPhase,
} from '../plan/work.js';
import type { LayerImportance } from '../importance/importance.js';
import { keepCount } from './prune-amount.js';
import { refineBudget } from './swap-refine.js';

/** Masks scored on the calibration set: each one forward over it through K of the L layers. */
export function maskScoring(n: WorkInput, what: string, masks: number, keep?: number): WorkPhase | undefined {
  const m = n.shapes.modelAt(n.id, 'model')!;
  const T = n.shapes.sequenceTokens(n.id, m);
  const p = n.params;
  const batches = Math.ceil(p.calibration / Math.min(p.batchSize, p.calibration));
  if (!masks) return undefined;
  const pass = { tokens: p.calibration * T, T, fused: n.fused, batches, layers: keep };
  return forwardWork(m, what, pass, masks);
}

/**
 * masker.search: the initial scores (the init component's own count of masks), the gradient
 * steps of every restart, the candidates, and the refinement at its budget (or two rounds of
 * swaps, when that is less: searches near an optimum stop after a swap or two).
 */
export function searchWork(n: WorkInput): NodeWork {
  const m = n.shapes.modelAt(n.id, 'model');
  if (!m) return unwiredWork('model');
  const p = n.params;
  const L = m.config.numLayers;
  const K = keepCount(p as never, L, n.id);
  const T = n.shapes.sequenceTokens(n.id, m);
  const B = Math.min(p.searchBatchSize, p.calibration);
  const init = p.init as LayerImportance | undefined;
  const initMasks = typeof init?.evaluations === 'function' ? init.evaluations(L, K, 'scores') : 0;
  // The curriculum takes K_t from L to K over the warm-up: the mean blocks computed per step.
  const warm = p.curriculum?.enabled === false ? 0 : (p.curriculum?.warmupFraction ?? 0.3);
  const meanLayers = K + ((L - K) * warm) / 2;
  const steps = stepWork(
    m,
    'gradient steps',
    {
      tokens: B * T,
      T,
      fused: n.fused,
      batches: microBatches(B, p.microBatch),
      layers: meanLayers,
      weightGradients: false,
      recompute: p.gradientCheckpointing === true,
      trained: L,
    },
    p.steps * p.restarts,
  );
  const candidates = p.restarts * (2 + p.candidates);
  const rounds = Math.min(p.refineRounds, 2 + 1);
  const refine =
    p.refineRounds > 0 ? Math.min(refineBudget(p as never, p.calibration, L, K), rounds * p.refineSwaps) : 0;
  const phases = [
    maskScoring(n, 'initial scores', initMasks + 1, undefined),
    steps,
    maskScoring(n, 'candidates', candidates, K),
    maskScoring(n, 'refinement', refine, K),
  ];
  return { phases: phases.filter((x): x is WorkPhase => x !== undefined) };
}
