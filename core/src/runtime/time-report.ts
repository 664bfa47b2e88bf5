import type { ValidatedGraph } from '../graph/validate.js';
import { parseWire } from '../graph/spec.js';
import type { Logger } from '../services/logger.js';
import type { NodeTiming } from './executor.js';
import type { PreflightReport } from './preflight.js';

/** One node's estimated and measured seconds. */
export interface NodeTime {
  readonly id: string;
  readonly estimated?: number;
  readonly measured?: number;
}

/**
 * Each node's own time: from when its last input node completed (or the run began) to when it
 * completed. Nodes of a graph mostly run one after another, so this is the time spent in it.
 */
export function measuredSeconds(graph: ValidatedGraph, timings: Readonly<Record<string, NodeTiming>>) {
  const out: Record<string, number> = {};
  for (const id of graph.order) {
    const done = timings[id]?.completedMs;
    if (done === undefined) continue;
    const inputs = Object.values(graph.spec.nodes[id].in ?? {}).flatMap((w) => {
      const from = typeof w === 'string' ? parseWire(w)?.node : undefined;
      return from === undefined ? [] : [timings[from]?.completedMs ?? 0];
    });
    out[id] = Math.max(0, done - Math.max(0, ...inputs)) / 1000;
  }
  return out;
}

/** The time plans' estimates beside the measured times, one line per node, for the end of the run log. */
export function timeTable(
  graph: ValidatedGraph,
  reports: readonly PreflightReport[],
  timings: Readonly<Record<string, NodeTiming>>,
): NodeTime[] {
  const estimates = Object.assign({}, ...reports.map((r) => r.seconds ?? {})) as Record<string, number>;
  const measured = measuredSeconds(graph, timings);
  return graph.order.map((id) => ({ id, estimated: estimates[id], measured: measured[id] }));
}

/** Logs {@link timeTable}: `node search: estimated 12.0 s, took 10.3 s (0.86× the estimate)`. */
export function logTimes(rows: readonly NodeTime[], logger: Logger): void {
  const s = (x: number | undefined) => (x === undefined ? 'not estimated' : `${x.toFixed(1)} s`);
  for (const r of rows) {
    if (r.measured === undefined) continue;
    const ratio = r.estimated ? ` (${(r.measured / r.estimated).toFixed(2)}× the estimate)` : '';
    logger.info(`time of node ${r.id}: estimated ${s(r.estimated)}, took ${r.measured.toFixed(1)} s${ratio}`);
  }
}
