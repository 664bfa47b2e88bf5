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
}
