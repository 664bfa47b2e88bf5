import type { Newable } from 'inversify';
import type { Observable } from 'rxjs';

/**
 * A JSON Schema (draft-07 subset ajv understands). `x-component: kind` marks a component slot;
 * `x-path: { kind: 'file' | 'dir', contains?: [names] }` marks a string as an input path that must
 * exist at validation (PathSpec in services/user-paths.ts).
 */
export type JsonSchema = Record<string, unknown>;

/** One port: a type name checked between producer and consumer ('any' matches every type). */
export interface PortSpec {
  /** The port type's name (`Model`, `Dataset`, …, or a plugin's own); `any` accepts every type. */
  readonly type: string;
  /** What the port carries, shown by `e3 plugins` and in editors. */
  readonly doc?: string;
  /** Inputs only: the node runs without it. */
  readonly optional?: boolean;
}

/** Per-node context the executor hands to `connect`. */
export interface NodeContext {
  /** The node's id in the graph. */
  readonly id: string;
  /**
   * Aborted when the run is stopped (SIGINT, SIGTERM) or fails elsewhere; long loops call
   * `await stopPoint(signal)` once per batch or step (it throws CancelledError).
   */
  readonly signal: AbortSignal;
  /**
   * For a plugin that {@link PluginManifest.writesReport}: the directory of its report files,
   * relative to the run directory ('' for the graph's only report outside repeat rounds, else `reports/<name>`).
   */
  readonly reportDir?: string;
}

/**
 * A node: a stream transform over named ports. `connect` is called once per run, before
 * any value flows; it returns one Observable per output port. Inputs are shared streams
 * owned by the runtime: do not dispose values you receive, and dispose what you create
 * but do not emit.
 */
export interface GraphNode<P = unknown> {
  /**
   * Wires the node: `inputs` holds one stream per wired input port (an optional port left unwired
   * is absent), `params` the node's validated params (defaults filled in, component slots built);
   * returns one stream per output port. Errors thrown or emitted fail the run, naming the node.
   */
  connect(
    inputs: Record<string, Observable<unknown>>,
    params: P,
    ctx: NodeContext,
  ): Record<string, Observable<unknown>>;
}

/** The contract of a node plugin, as data beside its code (ports, params, docs). */
export interface PluginManifest {
  /** Registry key, `domain.camelName`. */
  readonly key: string;
  /** One or two sentences: what the node does (shown by `e3 plugins` and in editors). */
  readonly doc: string;
  /** Input ports by name: what `in:` of a graph node may wire. */
  readonly inputs: Readonly<Record<string, PortSpec>>;
  /** Output ports by name: what other nodes wire as `node.port`. */
  readonly outputs: Readonly<Record<string, PortSpec>>;
  /** JSON Schema of `params` (draft-07): defaults are filled in, errors point at the graph's file:line. */
  readonly params: JsonSchema;
  /**
   * Its outputs depend only on its plugin, params (and the files they name), inputs, the run's
   * seed and its code, and are plain data (JSON): with a node cache (`e3 run --cache`, sweeps)
   * they are stored once under the node's cache key (runtime/cache-keys.ts: the content of those
   * files and code included) and reused by any run with the same key instead of running it.
   */
  readonly deterministic?: boolean;
  /**
   * It writes report files (report.*, figures/) into the run directory. Each such node has a name
   * (its `name` param, else its node id): the graph's only one outside repeat rounds writes into the
   * run directory itself, the others side by side into reports/<name>/ (NodeContext.reportDir); one
   * name twice is a validation error.
   */
  readonly writesReport?: boolean;
  /** The class the runtime instantiates through DI (services arrive by constructor injection). */
  readonly node: Newable<GraphNode>;
  /**
   * What this node can hand the components in its params (see {@link ComponentManifest.requires}):
   * a requirement name, and the input port that must be wired for it (none: always supplied).
   * `e3 validate` refuses a component whose requirement the node cannot supply.
   */
  readonly supplies?: Readonly<Record<string, Supply>>;
  /**
   * Estimators of what a node of this plugin costs, by name, for the pre-flight checks that read
   * them (the plugins' time plan reads `time`). Core does not call them; a plugin without one is
   * shown as not estimated.
   */
  readonly estimate?: Readonly<Record<string, unknown>>;
}

/** How a node supplies one requirement of its components. */
export interface Supply {
  /** The input port that must be wired for the node to supply it. */
  readonly input?: string;
}

/**
 * The contract of a component: a swappable part held inside a node's params
 * (`{ component: key, ...params }`). The runtime builds it through DI, with its
 * validated params bound to {@link COMPONENT_PARAMS}.
 */
export interface ComponentManifest {
  /** Registry key, `domain.camelName` (what `component:` names in a graph). */
  readonly key: string;
  /** The slot it fits (`sampler`, `loss`, `weighting`, …); a slot's `x-component` names it. */
  readonly kind: string;
  /** One or two sentences: what the component does (shown by `e3 plugins` and in editors). */
  readonly doc: string;
  /** JSON Schema of its params (the slot's keys beside `component`); injected as {@link COMPONENT_PARAMS}. */
  readonly params: JsonSchema;
  /** The class the runtime instantiates through DI: an implementation of its kind's interface. */
  readonly component: Newable<unknown>;
  /** What the component needs from the node that holds it (e.g. `teacherTargets`); see {@link PluginManifest.supplies}. */
  readonly requires?: readonly string[];
}
