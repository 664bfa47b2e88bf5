import {
  forwardWork,
  microBatches,
  stepWork,
  unwiredWork,
  type NodeWork,
  type WorkInput,
  type WorkPhase,
} from '../work.js';
import type { LayerImportance } from '../../importance/importance.js';
import { keepCount } from '../../masker/prune-amount.js';
import { refineBudget, swapsPerRound } from '../../masker/swap-refine.js';
import { stepMemory } from '../../trainer/memory-options.js';
import { cacheK, calibration, HEAD_LIVE, unwired, type MemoryEstimator, type StepBatch } from '../node-memory.js';
import { bf16Copies, headChunk, targets, total, trainingPass } from '../stage-memory.js';

/** Masks scored on the calibration set: each one forward over it through K of the L layers. */
export function maskScoring(n: WorkInput, what: string, masks: number, keep?: number): WorkPhase | undefined {
  const m = n.shapes.modelAt(n.id, 'model')!;
  const p = n.params;
  const T = n.shapes.typicalTokens(n.id, m, Math.min(p.batchSize, p.calibration));
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
  const B = Math.min(p.searchBatchSize, p.calibration);
  const T = n.shapes.typicalTokens(n.id, m, B / microBatches(B, p.microBatch));
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
  const budget = refineBudget(p as never, p.calibration, L, K);
  const refine =
    p.refineRounds > 0
      ? Math.min(budget, rounds * Math.min(swapsPerRound(p.refineSwaps, budget, p.refineRounds), K * (L - K)))
      : 0;
  const phases = [
    maskScoring(n, 'initial scores', initMasks + 1, undefined),
    steps,
    maskScoring(n, 'candidates', candidates, K),
    maskScoring(n, 'refinement', refine, K),
  ];
  return { phases: phases.filter((x): x is WorkPhase => x !== undefined) };
}

/** The search's step batch: search-node.ts clamps it to the calibration examples. */
export const searchBatch: StepBatch = (p) => Math.min(p.searchBatchSize, p.calibration);

/** masker.search: the calibration store, then the larger of a (micro-)batch step and the scoring. */
export const searchMemory: MemoryEstimator = (n) => {
  const m = n.shapes.modelAt(n.id, 'model');
  if (!m) return unwired('model');
  const p = n.params;
  const T = n.shapes.sequenceTokens(n.id, m);
  const B = searchBatch(p);
  const s = stepMemory(p, B);
  // Only α trains: summing micro-batches' gradients costs L floats.
  const step = [
    ...bf16Copies(m, { B: s.microBatch, T, param: 'microBatch' }, n.exec),
    ...trainingPass(m, { B: s.microBatch, T, param: 'microBatch' }, n.exec, s.recompute),
    headChunk(m, s.microBatch * T, p.headChunkTokens, HEAD_LIVE.studentTrain, 'masked model loss, frozen head'),
    targets(B * T, cacheK(n)),
  ];
  const scoring = calibration(m, n, T, p.init?.component);
  const [store, ...rest] = scoring;
  return { items: [store, ...(total(step) > total(rest) ? step : rest)] };
};
