import type { Progress } from '@e3/core';
import type { Dataset } from '../data/dataset.js';
import type { ModelHandle } from '../model/handle.js';
import { removedLayers, type LayerMaskResult } from '../model/layer-mask.js';
import { MaskEvaluator } from '../importance/mask-evaluator.js';
import { pruneAmountSchema } from './prune-amount.js';

/** Params every data-driven masker shares. */
export interface CalibrationParams {
  calibration: number;
  batchSize: number;
  promptLoss: boolean;
}

export const calibrationSchema = {
  ...pruneAmountSchema,
  calibration: {
    type: 'integer',
    minimum: 1,
    default: 256,
    description: 'calibration examples (from the training split)',
  },
  batchSize: { type: 'integer', minimum: 1, default: 64, description: 'calibration batch size' },
  promptLoss: {
    type: 'boolean',
    default: false,
    description: 'score all tokens, not only the answers (plain-text data)',
  },
};

/** A MaskEvaluator over the dataset's calibration examples. */
export async function calibrationEvaluator(
  model: ModelHandle,
  data: Dataset,
  p: CalibrationParams,
  signal?: AbortSignal,
): Promise<MaskEvaluator> {
  const evaluator = new MaskEvaluator(model, await data.calibration(p.calibration), p.batchSize, p.promptLoss);
  evaluator.signal = signal;
  return evaluator;
}

/** Runs `use` with a calibration MaskEvaluator and always frees it afterwards. */
export async function withCalibration<T>(
  model: ModelHandle,
  data: Dataset,
  p: CalibrationParams,
  use: (evaluator: MaskEvaluator) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const evaluator = await calibrationEvaluator(model, data, p, signal);
  try {
    return await use(evaluator);
  } finally {
    evaluator.dispose();
  }
}

/**
 * Runs `use` with progress task `about.task` that ticks once per mask the evaluator scores (`total`
 * expected, e.g. L for KL-drop; `what` the line's text); without a total, `use` runs untracked.
 */
export async function trackMasks<T>(
  evaluator: MaskEvaluator,
  progress: Progress,
  about: { task: string; total: number | undefined; what: string },
  use: () => Promise<T>,
): Promise<T> {
  const { task, total, what } = about;
  if (!total) return use();
  const t = progress.start(task, total, { unit: 'masks', what });
  let n = 0;
  evaluator.onEvaluated = () => t.tick(++n);
  try {
    return await use();
  } finally {
    evaluator.onEvaluated = undefined;
    t.done();
  }
}

/**
 * Finishes a masker's result: calibration KL of the chosen mask, the forward passes spent
 * (including that check) and the wall time, so every method reports the same facts.
 */
export async function finishMask(
  evaluator: MaskEvaluator,
  method: string,
  mask: number[],
  t0: number,
  extra: Partial<LayerMaskResult> = {},
): Promise<LayerMaskResult> {
  const calibrationKl = await evaluator.kl(mask);
  const layers = [...evaluator.handle.model.source.keptLayers];
  const removed = removedLayers({ mask, layers });
  return {
    ...extra,
    mask,
    layers,
    method,
    details: {
      ...extra.details,
      removed,
      calibrationKl,
      forwardPasses: evaluator.forwardPasses,
      wallSeconds: (performance.now() - t0) / 1000,
    },
  };
}
