import type { ContainerModule } from 'inversify';
import { type Diagnostic, displayPath, formatDiagnostic, GraphError, UserError } from '@e3/core';
import { checkPointGraphs, pointContents, type PointsCheck } from '../sweep/check-points.js';
import { loadSweepFile, SweepError, type SweepPlan } from '../sweep/sweep-file.js';

/** What `e3 validate` and `e3 plan` take for a sweep file. */
export interface SweepCheckOptions {
  /** `--set` values for every point, after the file's. */
  readonly set: readonly string[];
  readonly plugin: readonly string[];
  readonly json?: boolean;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const write = (text: string) => process.stdout.write(text);

async function check(
  file: string,
  modules: readonly ContainerModule[],
  o: SweepCheckOptions,
  purpose: 'validate' | 'plan',
) {
  const plan = loadSweepFile(file, { sets: o.set });
  const checks = await checkPointGraphs(plan, modules, { preflight: purpose, pluginPaths: o.plugin });
  const same = pointContents(plan, checks).problems; // points that would run one graph with one seed
  if (same.length) throw new SweepError(same);
  return { plan, checks };
}

/** Each point of the plan with the check of its graph, in the sweep's order. */
function byPoint(plan: SweepPlan, checks: readonly PointsCheck[]) {
  const of = new Map(checks.flatMap((c) => c.points.map((p) => [p, c] as const)));
  return plan.points.map((point) => ({ point, check: of.get(point)! }));
}

/**
 * `e3 validate SWEEP`: the sweep file's schema, then the graph of every point with its pre-flight
 * checks; one line per point (its id, then ok or its problems, located in the sweep file or the
 * graph). Exits 1 if any point has a problem.
 */
export async function validateSweep(file: string, modules: readonly ContainerModule[], o: SweepCheckOptions) {
  let checked;
  try {
    checked = await check(file, modules, o, 'validate');
  } catch (e) {
    if (!o.json || !(e instanceof GraphError)) throw e;
    write(JSON.stringify({ file, ok: false, problems: e.diagnostics }, null, 2) + '\n');
    process.exitCode = e.exitCode;
    return;
  }
  const points = byPoint(checked.plan, checked.checks);
  const failed = points.filter((p) => p.check.problems.length).length;
  if (o.json) {
    const rows = points.map(({ point, check }) => ({
      id: point.id,
      graph: displayPath(point.graph),
      sets: point.sets,
      seed: point.seed,
      ok: check.problems.length === 0,
      ...(check.problems.length ? { problems: check.problems } : { nodes: check.nodes }),
    }));
    write(JSON.stringify({ file, ok: failed === 0, points: rows }, null, 2) + '\n');
    if (failed) process.exitCode = 1;
    return;
  }
  const shown = new Map<string, string>(); // problems already printed → the first point that had them
  for (const { point, check } of points) {
    const problems = check.problems;
    if (!problems.length) {
      write(`${point.id}: ok (${plural(check.nodes?.length ?? 0, 'node')})\n`);
      continue;
    }
    const text = problems.map((d) => problemLine(d) + '\n').join('');
    const first = shown.get(text);
    write(`${point.id}: ${plural(problems.length, 'problem')}${first ? ` (as ${first})\n` : `\n${text}`}`);
    if (!first) shown.set(text, point.id);
  }
  const n = points.length;
  if (failed) throw new UserError(`${file}: ${failed} of ${plural(n, 'point')} failed validation (problems above)`);
  write(`${file}: ok (${plural(n, 'point')}, ${plural(checked.checks.length, 'distinct graph')})\n`);
}

/**
 * `e3 plan SWEEP`: the pre-flight reports of every point's graph, once for points that differ only
 * in seed (they share the graph). Exits 1 if any point has a problem.
 */
export async function planSweep(file: string, modules: readonly ContainerModule[], o: SweepCheckOptions) {
  const { plan, checks } = await check(file, modules, o, 'plan');
  const failed = checks.some((c) => c.problems.length);
  if (failed) process.exitCode = 1;
  if (o.json) {
    const plans = checks.map((c) => ({
      points: c.points.map((p) => p.id),
      graph: displayPath(c.points[0].graph),
      sets: c.points[0].sets,
      ok: c.problems.length === 0,
      reports: Object.fromEntries(c.reports.map((r) => [r.title, r.json])),
      ...(c.problems.length ? { problems: c.problems } : {}),
    }));
    write(JSON.stringify({ file, plans }, null, 2) + '\n');
    return;
  }
  write(
    `${file}: ${plural(plan.points.length, 'point')}, ${plural(checks.length, 'distinct graph')}; ` +
      'each plan below serves the points it names (they differ only in seed)\n',
  );
  for (const c of checks) write('\n' + planText(c));
}

function planText(c: PointsCheck): string {
  const { graph, sets } = c.points[0];
  const lines = [
    `== ${c.points.map((p) => p.id).join(', ')}`,
    `   ${displayPath(graph)}${sets.map((s) => ` --set ${s}`).join('')}`,
    ...(c.reports.length ? [c.reports.map((r) => `${r.title}\n${r.text}`).join('\n\n')] : []),
  ];
  if (c.problems.length) lines.push(`${plural(c.problems.length, 'problem')}:`, ...c.problems.map(problemLine));
  return lines.join('\n') + '\n';
}

const problemLine = (d: Diagnostic) => `  ${formatDiagnostic(d)}`;
