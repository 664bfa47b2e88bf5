import type { ValidatedGraph } from '../graph/validate.js';
import { parseWire } from '../graph/spec.js';
import type { Logger } from '../services/logger.js';
import type { NodeTiming } from './executor.js';
import type { PreflightReport } from './preflight.js';

/**
 * Estimated and measured seconds of one node, or of nodes that ran at the same time (the CPU is
 * shared, so only their span can be measured, against the sum of their estimates).
 */
export interface NodeTime {
  readonly nodes: readonly string[];
  readonly estimated?: number;
  readonly measured?: number;
}

/** When a node ran: from when its last input node completed (or the run began) to when it completed. */
interface Interval {
  readonly id: string;
  readonly start: number;
  readonly end: number;
}

function intervals(graph: ValidatedGraph, timings: Readonly<Record<string, NodeTiming>>): Interval[] {
  const out: Interval[] = [];
  for (const id of graph.order) {
    const end = timings[id]?.completedMs;
    if (end === undefined) continue;
    const inputs = Object.values(graph.spec.nodes[id].in ?? {}).flatMap((w) => {
      const from = typeof w === 'string' ? parseWire(w)?.node : undefined;
      return from === undefined ? [] : [timings[from]?.completedMs ?? 0];
    });
    out.push({ id, start: Math.min(end, Math.max(0, ...inputs)), end });
  }
  return out;
}

/**
 * Each node's own time: from when its last input node completed (or the run began) to when it
 * completed. Nodes of a graph mostly run one after another, so this is the time spent in it.
 */
export function measuredSeconds(graph: ValidatedGraph, timings: Readonly<Record<string, NodeTiming>>) {
  return Object.fromEntries(intervals(graph, timings).map((i) => [i.id, (i.end - i.start) / 1000]));
}

/**
 * Nodes whose intervals overlap, grouped (in graph order). A node's interval starts when its inputs
 * completed, so only nodes that do not depend on each other can overlap: sources that load at once.
 */
function overlapping(list: readonly Interval[]): Interval[][] {
  const groups: Interval[][] = [];
  const ran = (i: Interval) => i.end - i.start > 1; // a node served from the cache takes no time
  for (const i of [...list].sort((a, b) => a.start - b.start)) {
    const g = ran(i) ? groups.find((x) => x.some((o) => ran(o) && i.start < o.end && o.start < i.end)) : undefined;
    if (g) g.push(i);
    else groups.push([i]);
  }
  return groups;
}

/** The time plans' estimates beside the measured times, one row per node or group of concurrent nodes. */
export function timeTable(
  graph: ValidatedGraph,
  reports: readonly PreflightReport[],
  timings: Readonly<Record<string, NodeTiming>>,
): NodeTime[] {
  const estimates = Object.assign({}, ...reports.map((r) => r.seconds ?? {})) as Record<string, number>;
  const rank = new Map(graph.order.map((id, i) => [id, i]));
  const rows = overlapping(intervals(graph, timings)).map((g) => {
    const nodes = g.map((i) => i.id).sort((a, b) => rank.get(a)! - rank.get(b)!);
    const known = nodes.every((id) => estimates[id] !== undefined);
    const span = Math.max(...g.map((i) => i.end)) - Math.min(...g.map((i) => i.start));
    return {
      nodes,
      estimated: known ? nodes.reduce((s, id) => s + estimates[id], 0) : undefined,
      measured: span / 1000,
    };
  });
  return rows.sort((a, b) => rank.get(a.nodes[0])! - rank.get(b.nodes[0])!);
}

/**
 * Logs {@link timeTable}: `node search: estimated 12.0 s, took 10.3 s (0.86× the estimate)`, and for
 * concurrent nodes `nodes data + teacher (at once): …`.
 */
export function logTimes(rows: readonly NodeTime[], logger: Logger): void {
  for (const r of rows) {
    if (r.measured === undefined) continue;
    const ratio = r.estimated ? ` (${(r.measured / r.estimated).toFixed(2)}× the estimate)` : '';
    const who = r.nodes.length === 1 ? `node ${r.nodes[0]}` : `nodes ${r.nodes.join(' + ')} (at once)`;
    const estimate = r.estimated === undefined ? 'no estimate' : `estimated ${r.estimated.toFixed(1)} s`;
    logger.info(`time of ${who}: ${estimate}, took ${r.measured.toFixed(1)} s${ratio}`);
  }
}
