import type { ContainerModule } from 'inversify';
import {
  type Diagnostic,
  displayPath,
  GraphError,
  parseSetArg,
  plannedPreflights,
  type PreflightReport,
  prepareGraph,
} from '@e3/core';
import { pointContent, samePointProblems, type PointContent } from './point-content.js';
import { SweepError, type SweepPlan, type SweepPoint } from './sweep-file.js';

/** The check of the graph that some points share (same graph and --set values: they differ only in seed). */
export interface PointsCheck {
  readonly points: readonly SweepPoint[];
  /** The graph's nodes in execution order, when it validated. */
  readonly nodes?: readonly string[];
  /** The pre-flight reports (the memory plan), when asked for and the graph validated. */
  readonly reports: readonly PreflightReport[];
  /** Its problems, located in the sweep file where one of the sweep's values caused them, else in the graph. */
  readonly problems: readonly Diagnostic[];
  /** What the points run apart from their seed, when the graph validated. */
  readonly content?: PointContent;
}

export interface CheckOptions {
  /** Also run the pre-flight checks, as `e3 validate` or `e3 plan` does for a graph. */
  readonly preflight?: 'validate' | 'plan';
  /** Extra plugin modules (`--plugin`). */
  readonly pluginPaths?: readonly string[];
}

/**
 * Validates the graph of every point (no tensors: plugins, params, wires; with `preflight`, the
 * pre-flight checks too), once per distinct graph and --set values, in the order of the points.
 */
export async function checkPointGraphs(
  plan: SweepPlan,
  modules: readonly ContainerModule[],
  options: CheckOptions = {},
): Promise<PointsCheck[]> {
  const groups = new Map<string, SweepPoint[]>();
  for (const point of plan.points) {
    const key = JSON.stringify([point.graph, point.sets, point.origins, point.keyOrigins]);
    groups.set(key, [...(groups.get(key) ?? []), point]);
  }
  const checks: PointsCheck[] = [];
  for (const points of groups.values()) {
    const point = points[0];
    try {
      const p = await prepareGraph(point.graph, { modules, sets: point.sets, pluginPaths: options.pluginPaths });
      const reports = options.preflight ? await plannedPreflights(p, options.preflight) : [];
      const problems = reports.flatMap((r) => r.problems).map((d) => locateInSweep(d, point));
      checks.push({ points, nodes: p.graph.order, reports, problems, content: pointContent(p.graph.spec) });
    } catch (e) {
      if (!(e instanceof GraphError)) throw e;
      checks.push({ points, reports: [], problems: e.diagnostics.map((d) => locateInSweep(d, point)) });
    }
  }
  return checks;
}

/**
 * A problem that one of the point's --set values caused, moved to where the sweep file wrote it:
 * the key for a path that cannot be set (no such node), else the value. Others stay in the graph.
 */
export function locateInSweep(d: Diagnostic, point: SweepPoint): Diagnostic {
  const i = d.file?.startsWith('--set ') ? point.sets.indexOf(d.file.slice('--set '.length)) : -1;
  if (i < 0) return d;
  const set = point.sets[i];
  const path = parseSetArg(set)?.path;
  const aboutKey = !d.node && path !== undefined && d.field === path;
  return { ...d, ...(aboutKey ? point.keyOrigins[i] : point.origins[i]) };
}

/** Each point's content, and the problems of points that coincide (see samePointProblems). */
export function pointContents(
  plan: SweepPlan,
  checks: readonly PointsCheck[],
): { content: Map<SweepPoint, PointContent>; problems: Diagnostic[] } {
  const content = new Map<SweepPoint, PointContent>();
  for (const c of checks) for (const p of c.points) if (c.content) content.set(p, c.content);
  if (content.size < plan.points.length) return { content, problems: [] };
  const grid = plan.swept.filter((k) => k !== 'overlay');
  return { content, problems: samePointProblems(plan.points, content, grid, displayPath(plan.file)) };
}

/**
 * Validates every point's graph before anything runs (no tensors: plugins, params, wires), then
 * that no two points run the same graph with the same seed. A problem caused by one of the
 * sweep's values is reported where the sweep file wrote it; each distinct problem once, whatever
 * the number of points it breaks. Returns what each point runs (for sweep.json).
 */
export async function checkPoints(
  plan: SweepPlan,
  modules: readonly ContainerModule[],
): Promise<Map<SweepPoint, PointContent>> {
  const found = new Map<string, Diagnostic>();
  const checks = await checkPointGraphs(plan, modules);
  for (const check of checks) {
    for (const d of check.problems) {
      const text = JSON.stringify(d);
      if (!found.has(text)) found.set(text, d);
    }
  }
  if (found.size) throw new SweepError([...found.values()]);
  const { content, problems } = pointContents(plan, checks);
  if (problems.length) throw new SweepError(problems);
  return content;
}
