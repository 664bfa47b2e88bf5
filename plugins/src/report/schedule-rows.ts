import { scheduleAt, type SearchSchedule } from '../masker/search-schedule.js';
import { warmupCosine } from '../trainer/adamw.js';
import type { LrSchedule } from '../trainer/train-metrics.js';

type Row = Record<string, number>;

/** Plotted points per schedule at most: every step up to this many steps, evenly spaced beyond. */
export const MAX_SCHEDULE_POINTS = 2000;

/** Steps 0 … steps − 1, all of them when few, else evenly spaced with `keep` (where a schedule bends) added. */
export function plottedSteps(steps: number, keep: readonly number[] = []): number[] {
  if (steps <= MAX_SCHEDULE_POINTS) return [...Array(steps).keys()];
  const stride = Math.ceil(steps / MAX_SCHEDULE_POINTS);
  const at = new Set<number>([steps - 1, ...keep.filter((s) => s >= 0 && s < steps)]);
  for (let s = 0; s < steps; s += stride) at.add(s);
  return [...at].sort((a, b) => a - b);
}

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

function validLr(s: Partial<LrSchedule> | undefined): s is LrSchedule {
  return !!s && isNum(s.steps) && isNum(s.warmupSteps) && isNum(s.peak) && isNum(s.minLrRatio) && s.steps > 0;
}

/** `{ step, lr }` at every step from the recorded schedule; the recorded steps' lr when there is none. */
export function lrRows(training: { lrSchedule?: LrSchedule; history?: Row[] } | undefined): Row[] {
  const s = training?.lrSchedule;
  if (validLr(s))
    return plottedSteps(s.steps, [s.warmupSteps - 1, s.warmupSteps]).map((step) => ({
      step,
      lr: warmupCosine(step, s.steps, s.warmupSteps, s.peak, s.minLrRatio),
    }));
  return (training?.history ?? []).filter((r) => isNum(r.lr)).map((r) => ({ step: r.step, lr: r.lr }));
}

/** report.json's `search` section as the rows read it. */
export type SearchJson = {
  restarts?: { restart: number; history?: Row[] }[];
  schedule?: SearchSchedule & { steps: number; layers: number; keep: number };
};

/** `{ step, restart, loss }` of every restart's recorded steps. */
export function searchLossRows(search: SearchJson | undefined): Row[] {
  return (search?.restarts ?? []).flatMap((r) =>
    (r.history ?? []).filter((h) => isNum(h.loss)).map((h) => ({ step: h.step, restart: r.restart, loss: h.loss })),
  );
}

/**
 * `{ step, tau, k }` at every step from the search's schedule (the same for every restart); the
 * first restart's recorded steps when the report has no schedule.
 */
export function searchScheduleRows(search: SearchJson | undefined): Row[] {
  const s = search?.schedule;
  if (s && isNum(s.steps) && isNum(s.layers) && isNum(s.keep) && s.tau && s.curriculum) {
    const bend = Math.ceil(s.curriculum.warmupFraction * (s.steps - 1));
    return plottedSteps(s.steps, [bend - 1, bend]).map((step) => {
      const at = scheduleAt(s, step, s.steps, s.layers, s.keep);
      return { step, tau: at.tau, k: at.k };
    });
  }
  const history = search?.restarts?.[0]?.history ?? [];
  return history.filter((h) => isNum(h.tau) && isNum(h.k)).map((h) => ({ step: h.step, tau: h.tau, k: h.k }));
}

/** `n = 16` (examples behind each accuracy), `n = 16–32` when they differ, or says n is unknown. */
export function withN(rows: readonly { n?: number }[]): string {
  const ns = [...new Set(rows.map((r) => r.n).filter(isNum))].sort((a, b) => a - b);
  if (!ns.length) return 'n not recorded';
  return ns.length === 1 ? `n = ${ns[0]}` : `n = ${ns[0]}–${ns[ns.length - 1]}`;
}
