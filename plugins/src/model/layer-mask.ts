/** A layer mask as produced by maskers: 1 keeps a layer, 0 removes it. */
export interface LayerMaskResult {
  /** 0/1 per layer of the model it was computed for. */
  readonly mask: number[];
  /** Which masker made it (`e3-search`, `block-influence`, `exhaustive`, …), for reports. */
  readonly method: string;
  /** Per-layer scores or keep probabilities, for reports. */
  readonly scores?: number[];
  /** The masker's own facts for the report (the search: candidates, keep probabilities, calibration KL). */
  readonly details?: Record<string, unknown>;
  /**
   * The original model's number of each entry (the `source.keptLayers` of the model the mask was
   * computed for); absent: entry i is layer i. `details.removed` is in these numbers too.
   */
  readonly layers?: number[];
}

/**
 * The original model's number of each mask entry: a mask computed on an already pruned model
 * (a later round of iterative pruning) has one entry per layer it kept, and reports name the
 * layers as the original model numbers them (`layers`, from the model's `source.keptLayers`).
 */
export function originalLayer(m: Pick<LayerMaskResult, 'layers'>, i: number): number {
  return m.layers?.[i] ?? i;
}

/** The layers a mask removes, numbered in the original model. */
export function removedLayers(m: Pick<LayerMaskResult, 'mask' | 'layers'>): number[] {
  return m.mask.flatMap((x, i) => (x ? [] : [originalLayer(m, i)]));
}
