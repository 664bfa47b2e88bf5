import type { StepMetrics } from '../trainer/train-loop.js';
import type { SearchSchedule } from './search-schedule.js';

/** One restart's outcome (saved so a resumed run skips finished restarts). */
export interface RestartResult {
  /** Its index, from 0. */
  restart: number;
  /** The mask logits α per layer at the end of the restart. */
  alpha: number[];
  /** Per layer, the share of the final window's sampled masks that kept it. */
  keepProbability: number[];
  /** The masks it proposes, each with its calibration KL and how it was proposed (`topk(alpha)`, …). */
  candidates: { mask: number[]; kl: number; source: string }[];
  /** Recorded steps: loss, τ (`tau`), masks' kept layers (`k`), `alpha<i>` and `keep<i>` per layer. */
  history: StepMetrics[];
}

/** What the search reports on its `metrics` port. */
export interface SearchMetrics {
  /** The id of the node that searched. */
  node: string;
  /** Every restart, in order. */
  restarts: RestartResult[];
  /** Wall time of the whole search (s). */
  wallSeconds: number;
  /** τ and the curriculum as set, over `steps` from `layers` kept down to `keep`: scheduleAt gives every step's. */
  schedule?: SearchSchedule & { steps: number; layers: number; keep: number };
}
