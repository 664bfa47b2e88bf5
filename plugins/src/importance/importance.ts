import type { Rng } from '@e3/core';
import { hardTopK } from '../maths/relaxed-topk.js';
import type { MaskEvaluator } from './mask-evaluator.js';

/**
 * A layer-importance component (`importance.*`): a training-free way to choose which K
 * layers to keep. Score-based methods also give per-layer scores (higher = more important),
 * which the mask search can use to initialise its logits.
 */
export interface LayerImportance {
  /** The method's name in reports (`block-influence`, `sleb`, …). */
  readonly name: string;
  /** Per-layer scores, or undefined when the method does not rank layers one by one. */
  scores(evaluator: MaskEvaluator, keep: number, rng: Rng): Promise<number[] | undefined>;
  /** The 0/1 mask keeping `keep` layers. */
  select(evaluator: MaskEvaluator, keep: number, rng: Rng): Promise<{ mask: number[]; scores?: number[] }>;
  /** How many masks `scores` or `select` evaluate for `layers` and `keep` (for progress), if any. */
  evaluations?(layers: number, keep: number, use: 'scores' | 'select'): number;
}

/** For score-based methods: keep the K highest scores. */
export function selectByScores(scores: number[], keep: number): { mask: number[]; scores: number[] } {
  return { mask: hardTopK(scores, keep), scores };
}
