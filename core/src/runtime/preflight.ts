import { ContainerModule, type Container } from 'inversify';
import { formatDiagnostic, GraphError, type Diagnostic } from '../errors.js';
import type { LoadedGraph } from '../graph/load-graph.js';
import type { ValidatedGraph } from '../graph/validate.js';
import type { Registry } from '../registry/registry.js';
import { PREFLIGHT } from '../registry/tokens.js';
import { resolveBackendOptions } from '../services/backend.js';
import type { PreparedGraph } from './prepare.js';

/** What a pre-flight check is given: the validated graph, its source map, and the backend. */
export interface PreflightContext {
  readonly graph: ValidatedGraph;
  readonly loaded: LoadedGraph;
  /**
   * The backend the run computes on: the one started (`e3 run`), or the graph's `backend:` name
   * (`e3 validate`, `e3 plan`), which may be `auto` for the check to resolve as it can.
   */
  readonly backend: string;
  /** True when `backend` is the one a run started, not a prediction. */
  readonly started: boolean;
  /** Which command asks: a check may do more for `plan` (e.g. measure this machine's rates once). */
  readonly purpose?: 'validate' | 'plan' | 'run';
  /** The plugins' manifests, for checks that read what a plugin declares (e.g. its estimators). */
  readonly registry: Registry;
}

/** Params a pre-flight check chose for a node (a param the user left to it, e.g. `microBatch: auto`). */
export interface ParamChoice {
  readonly node: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** Why, when it is worth saying (logged at info; choices without one at debug). */
  readonly why?: string;
}

/** A check's verdict: a report for `e3 plan`, and the located problems that must stop a run. */
export interface PreflightReport {
  readonly title: string;
  readonly text: string;
  readonly json: unknown;
  readonly problems: readonly Diagnostic[];
  /** Estimated seconds per node id (a time plan): a run logs them beside the measured times. */
  readonly seconds?: Readonly<Record<string, number>>;
  /** Params the check chose for nodes (e.g. `microBatch: auto`), applied before any node runs. */
  readonly params?: readonly ParamChoice[];
  /** Located things that run but probably do not do what was meant (printed; never a refusal). */
  readonly warnings?: readonly Diagnostic[];
}

/**
 * A check that plugins register (bound to {@link PREFLIGHT}) and that runs after validation and
 * before any node: `e3 validate` and `e3 run` refuse a graph whose checks report problems, and
 * `e3 plan` prints the reports. Core knows nothing of what is checked (e.g. the memory plan).
 */
export interface Preflight {
  readonly name: string;
  check(ctx: PreflightContext): PreflightReport | Promise<PreflightReport>;
}

/** A ContainerModule that registers pre-flight checks. */
export function preflightModule(...checks: readonly Preflight[]): ContainerModule {
  return new ContainerModule(({ bind }) => {
    for (const c of checks) bind<Preflight>(PREFLIGHT).toConstantValue(c);
  });
}

/** Every registered check's report, in registration order. */
export async function runPreflights(container: Container, ctx: PreflightContext): Promise<PreflightReport[]> {
  const checks = container.isBound(PREFLIGHT) ? container.getAll<Preflight>(PREFLIGHT) : [];
  const reports: PreflightReport[] = [];
  for (const c of checks) reports.push(await c.check(ctx));
  return reports;
}

/** Every check's warnings, one line each (`warning: file:line:col node "x" field "y": …`). */
export function warningLines(reports: readonly PreflightReport[]): string[] {
  return reports.flatMap((r) => r.warnings ?? []).map((d) => `warning: ${formatDiagnostic(d)}`);
}

/** Throws one GraphError listing every check's problems, if any. */
export function refuseOnProblems(reports: readonly PreflightReport[]): void {
  const problems = reports.flatMap((r) => r.problems);
  if (problems.length) throw new GraphError(problems);
}

/**
 * Why the checks refuse the graph on `ctx.backend` (the first problem, and how many more), or
 * undefined when they pass: what `backend: auto` reads to skip a backend that cannot hold the graph.
 */
export async function preflightRefusal(container: Container, ctx: PreflightContext): Promise<string | undefined> {
  const problems = (await runPreflights(container, ctx)).flatMap((r) => r.problems);
  if (!problems.length) return undefined;
  const [first] = problems;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return `${first.node ? `node "${first.node}" ` : ''}${first.message}${more}`;
}

/** The reports of a prepared graph before any run (`e3 validate`, `e3 plan`): on the backend its `backend:` names. */
export function plannedPreflights(
  p: PreparedGraph,
  purpose: 'validate' | 'plan' = 'validate',
): Promise<PreflightReport[]> {
  const backend = resolveBackendOptions(p.graph.spec.backend).name;
  return runPreflights(p.container, {
    graph: p.graph,
    loaded: p.loaded,
    backend,
    started: false,
    registry: p.registry,
    purpose,
  });
}
