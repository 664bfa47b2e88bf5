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
  const started = performance.now();
  const abort = new AbortController();
  const releaser = new ValueReleaser();
  const ports = new Map<string, PortState>();
  const timings: Record<string, NodeTiming> = {};
  const nodeOutputsLeft = new Map<string, number>();
  const inputsOf = new Map<string, string[]>();
  const wiresOf = new Map<string, Record<string, string>>();
  let watch: StallWatch | undefined;

  const releaseIfDone = (key: string) => {
    const p = ports.get(key)!;
    if (!p.complete || p.consumersLeft > 0) return;
    for (const v of p.values) releaser.release(v);
    p.values.length = 0;
  };
  const nodeDone = (id: string) => {
    timings[id].completedMs = performance.now() - started;
    options.logger?.debug(`node ${id} done, ${(timings[id].completedMs! / 1000).toFixed(2)} s after the run began`);
    options.reuse?.finish(id, graph.spec.nodes[id].plugin);
    for (const key of inputsOf.get(id) ?? []) {
      ports.get(key)!.consumersLeft--;
      releaseIfDone(key);
    }
  };

  for (const id of graph.order) {
    const spec = graph.spec.nodes[id];
    const manifest = registry.plugin(spec.plugin);
    timings[id] = { values: 0 };
    const stored = options.reuse?.lookup(id, manifest);
    const wires = stored ? {} : (spec.in ?? {});
    inputsOf.set(id, Object.values(wires));
    wiresOf.set(id, wires);
    const inputs: Record<string, Observable<unknown>> = {};
    for (const [port, wire] of Object.entries(wires)) {
      const p = ports.get(wire)!;
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
        const params = instantiateComponents(manifest.params, spec.params ?? {}, registry, scoped);
        outputs = node.connect(inputs, params, { id, signal: abort.signal, reportDir: graph.reportDirs?.get(id) });
      } catch (e) {
        return Promise.reject(new NodeError(id, e));
      }
    }
    const outNames = Object.keys(manifest.outputs);
    nodeOutputsLeft.set(id, outNames.length);
    for (const port of outNames) {
      const source = outputs[port];
      if (!source)
        return Promise.reject(
          new NodeError(
            id,
            new Error(`connect() returned no stream for its output port "${port}" (a bug in plugin ${manifest.key})`),
          ),
        );
      const key = `${id}.${port}`;
      const state: PortState = {
        values: [],
        valuesSeen: 0,
        consumersLeft: 0,
        complete: false,
        stream: undefined as unknown as Connectable<unknown>,
      };
      const tracked = source.pipe(
        tap({
          next: (v) => {
            state.values.push(v);
            state.valuesSeen++;
            state.last = v;
            releaser.hold(v);
            options.reuse?.record(id, port, v);
            timings[id].values++;
            timings[id].firstValueMs ??= performance.now() - started;
            watch?.touch();
          },
          complete: () => {
            watch?.touch();
            state.complete = true;
            const left = nodeOutputsLeft.get(id)! - 1;
            nodeOutputsLeft.set(id, left);
            if (left === 0) nodeDone(id);
            releaseIfDone(key);
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
      ports.set(key, state);
    }
  }

  return new Promise<ExecuteResult>((resolve, reject) => {
    const subs = new Subscription();
    const finish = (err?: unknown) => {
      watch?.dispose();
      abort.abort();
      subs.unsubscribe();
      options.signal?.removeEventListener('abort', onCancel);
      const lastValues: Record<string, unknown> = {};
      for (const [key, p] of ports) {
        if (p.last !== undefined && !isDisposable(p.last)) lastValues[key] = p.last;
        for (const v of p.values) releaser.release(v);
        p.values.length = 0;
      }
      if (err) reject(err);
      else resolve({ timings, lastValues });
    };
    const onCancel = () => finish(new CancelledError(stopSignal(options.signal)));
    if (options.signal?.aborted) return onCancel();
    options.signal?.addEventListener('abort', onCancel, { once: true });
    if (options.stall) {
      watch = new StallWatch(options.stall, () => pendingNodes(graph, ports, wiresOf), finish);
      watch.start();
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
