import { Container } from 'inversify';
import {
  connectable,
  from,
  ignoreElements,
  merge,
  ReplaySubject,
  Subscription,
  tap,
  type Connectable,
  type Observable,
} from 'rxjs';
import { catchError } from 'rxjs/operators';
import { throwError } from 'rxjs';
import { CancelledError, NodeError, stopSignal } from '../errors.js';
import type { NodeReuse } from './node-reuse.js';
import type { ValidatedGraph } from '../graph/validate.js';
import type { Registry } from '../registry/registry.js';
import type { Logger } from '../services/logger.js';
import type { Rng } from '../services/rng.js';
import { LOGGER, RNG } from '../registry/tokens.js';
import { instantiateComponents } from './components.js';
import { isDisposable, ValueReleaser } from './release.js';
import { StallWatch, type PendingNode, type StallOptions } from './stall-watch.js';

/** When each node started emitting and finished (ms since the run began). */
export interface NodeTiming {
  firstValueMs?: number;
  completedMs?: number;
  values: number;
}

export interface ExecuteOptions {
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
  /** The node cache: deterministic nodes found there emit their stored values instead of running. */
  readonly reuse?: NodeReuse;
  /** Fails the run when it stops making progress, naming the node it waits on (see stall-watch.ts). */
  readonly stall?: StallOptions;
}

export interface ExecuteResult {
  readonly timings: Record<string, NodeTiming>;
  /** The last value of every port whose values are plain data (disposable values are released). */
  readonly lastValues: Record<string, unknown>;
}

/**
 * A child container per node: its RNG is the run's RNG forked by node id (so one node's
 * draws never shift another's) and its logger is scoped to the node.
 */
export function nodeContainer(parent: Container, id: string): Container {
  const c = new Container({ parent, autobind: true });
  if (parent.isBound(RNG)) c.bind(RNG).toConstantValue(parent.get<Rng>(RNG).fork(id));
  if (parent.isBound(LOGGER)) c.bind(LOGGER).toConstantValue(parent.get<Logger>(LOGGER).child(id));
  return c;
}

interface PortState {
  readonly stream: Connectable<unknown>;
  readonly values: unknown[];
  last?: unknown;
  /** Values emitted so far (`values` is emptied once they are released). */
  valuesSeen: number;
  consumersLeft: number;
  complete: boolean;
}

/**
 * Runs a validated graph: builds every node through DI, wires its inputs to the shared
 * output streams of its producers (one ReplaySubject per port, so a consumer that
 * subscribes late still sees every value), connects them all, and resolves when every
 * port has completed. A port's values are released once the port has completed and
 * every consumer node has finished. The first error stops the run, naming its node.
 */
export function execute(
  graph: ValidatedGraph,
  registry: Registry,
  container: Container,
  options: ExecuteOptions = {},
): Promise<ExecuteResult> {
  const run = new Execution(graph, registry, options);
  try {
    for (const id of graph.order) run.connectNode(id, container);
  } catch (e) {
    return Promise.reject(e);
  }
  return run.start();
}

/** One execution of a graph: its ports, their values and consumers, and the nodes' timings. */
class Execution {
  private readonly started = performance.now();
  private readonly abort = new AbortController();
  private readonly releaser = new ValueReleaser();
  private readonly ports = new Map<string, PortState>();
  private readonly timings: Record<string, NodeTiming> = {};
  private readonly nodeOutputsLeft = new Map<string, number>();
  private readonly inputsOf = new Map<string, string[]>();
  private readonly wiresOf = new Map<string, Record<string, string>>();
  private watch: StallWatch | undefined;

  constructor(
    private readonly graph: ValidatedGraph,
    private readonly registry: Registry,
    private readonly options: ExecuteOptions,
  ) {}

  private releaseIfDone(key: string): void {
    const p = this.ports.get(key)!;
    if (!p.complete || p.consumersLeft > 0) return;
    for (const v of p.values) this.releaser.release(v);
    p.values.length = 0;
  }

  private nodeDone(id: string): void {
    const timing = this.timings[id];
    timing.completedMs = performance.now() - this.started;
    this.options.logger?.debug(`node ${id} done, ${(timing.completedMs / 1000).toFixed(2)} s after the run began`);
    this.options.reuse?.finish(id, this.graph.spec.nodes[id].plugin);
    for (const key of this.inputsOf.get(id) ?? []) {
      this.ports.get(key)!.consumersLeft--;
      this.releaseIfDone(key);
    }
  }

  /**
   * Builds node `id` (or takes its outputs from the node cache), subscribes it to its producers'
   * ports and adds its own; throws a NodeError naming it when it cannot be built or connected.
   */
  connectNode(id: string, container: Container): void {
    const spec = this.graph.spec.nodes[id];
    const manifest = this.registry.plugin(spec.plugin);
    this.timings[id] = { values: 0 };
    const stored = this.options.reuse?.lookup(id, manifest);
    const wires = stored ? {} : (spec.in ?? {});
    this.inputsOf.set(id, Object.values(wires));
    this.wiresOf.set(id, wires);
    const inputs: Record<string, Observable<unknown>> = {};
    for (const [port, wire] of Object.entries(wires)) {
      const p = this.ports.get(wire)!;
      p.consumersLeft++;
      inputs[port] = p.stream;
    }
    let outputs: Record<string, Observable<unknown>>;
    if (stored) {
      outputs = Object.fromEntries(Object.entries(stored).map(([port, values]) => [port, from(values)]));
    } else {
      try {
        const scoped = nodeContainer(container, id);
        const node = scoped.get(manifest.node);
        const params = instantiateComponents(manifest.params, spec.params ?? {}, this.registry, scoped);
        const ctx = { id, signal: this.abort.signal, reportDir: this.graph.reportDirs?.get(id) };
        outputs = node.connect(inputs, params, ctx);
      } catch (e) {
        throw new NodeError(id, e);
      }
    }
    const outNames = Object.keys(manifest.outputs);
    this.nodeOutputsLeft.set(id, outNames.length);
    for (const port of outNames) {
      const source = outputs[port];
      if (!source) {
        const why = `connect() returned no stream for its output port "${port}" (a bug in plugin ${manifest.key})`;
        throw new NodeError(id, new Error(why));
      }
      this.addPort(id, port, source);
    }
  }

  /** Port `id.port`: `source` tracked (values held, timed, recorded for the cache) and replayed to each consumer. */
  private addPort(id: string, port: string, source: Observable<unknown>): void {
    const key = `${id}.${port}`;
    const state: PortState = {
      values: [],
      valuesSeen: 0,
      consumersLeft: 0,
      complete: false,
      stream: undefined as unknown as Connectable<unknown>,
    };
    const timing = this.timings[id];
    const tracked = source.pipe(
      tap({
        next: (v) => {
          state.values.push(v);
          state.valuesSeen++;
          state.last = v;
          this.releaser.hold(v);
          this.options.reuse?.record(id, port, v);
          timing.values++;
          timing.firstValueMs ??= performance.now() - this.started;
          this.watch?.touch();
        },
        complete: () => {
          this.watch?.touch();
          state.complete = true;
          const left = this.nodeOutputsLeft.get(id)! - 1;
          this.nodeOutputsLeft.set(id, left);
          if (left === 0) this.nodeDone(id);
          this.releaseIfDone(key);
        },
      }),
      catchError((e) =>
        throwError(() => (e instanceof NodeError || e instanceof CancelledError ? e : new NodeError(id, e))),
      ),
    );
    (state as { stream: Connectable<unknown> }).stream = connectable(tracked, {
      connector: () => new ReplaySubject<unknown>(),
      resetOnDisconnect: false,
    });
    this.ports.set(key, state);
  }

  /** Connects every port (consumers first) and resolves when all have completed, or rejects on the first error. */
  start(): Promise<ExecuteResult> {
    const { options, ports, releaser } = this;
    return new Promise<ExecuteResult>((resolve, reject) => {
      const subs = new Subscription();
      const finish = (err?: unknown) => {
        this.watch?.dispose();
        this.abort.abort();
        subs.unsubscribe();
        options.signal?.removeEventListener('abort', onCancel);
        const lastValues: Record<string, unknown> = {};
        for (const [key, p] of ports) {
          if (p.last !== undefined && !isDisposable(p.last)) lastValues[key] = p.last;
          for (const v of p.values) releaser.release(v);
          p.values.length = 0;
        }
        if (err) reject(err);
        else resolve({ timings: this.timings, lastValues });
      };
      const onCancel = () => finish(new CancelledError(stopSignal(options.signal)));
      if (options.signal?.aborted) return onCancel();
      options.signal?.addEventListener('abort', onCancel, { once: true });
      if (options.stall) {
        this.watch = new StallWatch(options.stall, () => pendingNodes(this.graph, ports, this.wiresOf), finish);
        this.watch.start();
      }
      subs.add(
        merge(...[...ports.values()].map((p) => p.stream.pipe(ignoreElements()))).subscribe({
          error: (e) => finish(e),
          complete: () => finish(),
        }),
      );
      for (const p of [...ports.values()].reverse()) {
        if (subs.closed) break;
        subs.add(p.stream.connect());
      }
    });
  }
}

/** The nodes that have not completed every output, with the state of their inputs and open outputs. */
function pendingNodes(
  graph: ValidatedGraph,
  ports: Map<string, PortState>,
  wiresOf: Map<string, Record<string, string>>,
): PendingNode[] {
  return graph.order.flatMap((id) => {
    const outputs = [...ports].filter(([key]) => key.startsWith(`${id}.`));
    const open = outputs.filter(([, p]) => !p.complete);
    if (open.length === 0) return [];
    const inputs = Object.entries(wiresOf.get(id) ?? {}).map(([port, wire]) => ({
      port,
      wire,
      complete: ports.get(wire)!.complete,
    }));
    const openOutputs = open.map(([key, p]) => ({ port: key.slice(id.length + 1), values: p.valuesSeen }));
    return [{ id, plugin: graph.spec.nodes[id].plugin, inputs, openOutputs }];
  });
}
