/**
 * An example user plugin module: two nodes and a component, loaded into a graph with
 * `plugins: [../examples/dist/stats-plugin.js]` or `e3 run … --plugin examples/dist/stats-plugin.js`.
 *
 * - `example.sequence` emits numbers start, start+step, … (a source node);
 * - `example.summary` reduces a number stream with a swappable `reducer` component and
 *   writes the result into the run directory (the artifact store arrives by injection);
 * - `reducer.mean` / `reducer.max` are the components.
 */
import 'reflect-metadata';
import { inject, injectable } from 'inversify';
import { map, range, reduce, type Observable } from 'rxjs';
import {
  ARTIFACTS,
  COMPONENT_PARAMS,
  LOGGER,
  type ArtifactStore,
  type ComponentManifest,
  type GraphNode,
  type Logger,
  type NodeContext,
  type PluginManifest,
} from '@e3/core';

/** The interface `reducer` components implement. */
export interface Reducer {
  readonly name: string;
  reduce(values: readonly number[]): number;
}

@injectable()
class MeanReducer implements Reducer {
  readonly name = 'mean';
  reduce(v: readonly number[]): number {
    return v.reduce((a, b) => a + b, 0) / Math.max(v.length, 1);
  }
}

@injectable()
class MaxReducer implements Reducer {
  readonly name = 'max';
  constructor(@inject(COMPONENT_PARAMS) private readonly p: { floor: number }) {}
  reduce(v: readonly number[]): number {
    return Math.max(this.p.floor, ...v);
  }
}

@injectable()
class SequenceNode implements GraphNode<{ start: number; count: number; step: number }> {
  connect(_in: Record<string, never>, p: { start: number; count: number; step: number }) {
    return { values: range(0, p.count).pipe(map((i) => p.start + i * p.step)) };
  }
}

@injectable()
class SummaryNode implements GraphNode<{ reducer: Reducer; file: string }> {
  constructor(
    @inject(ARTIFACTS) private readonly store: ArtifactStore,
    @inject(LOGGER) private readonly log: Logger,
  ) {}

  connect(inputs: { values: Observable<number> }, p: { reducer: Reducer; file: string }, ctx: NodeContext) {
    const summary$ = inputs.values.pipe(
      reduce((all, v) => [...all, v], [] as number[]),
      map((all) => {
        const result = { node: ctx.id, reducer: p.reducer.name, count: all.length, value: p.reducer.reduce(all) };
        this.store.writeJson(p.file, result);
        this.log.info(`${p.reducer.name} of ${all.length} values = ${result.value}`);
        return result;
      }),
    );
    return { summary: summary$ };
  }
}

export const plugins: PluginManifest[] = [
  {
    key: 'example.sequence',
    doc: 'Emits count numbers: start, start + step, …',
    inputs: {},
    outputs: { values: { type: 'Number' } },
    params: {
      type: 'object',
      additionalProperties: false,
      required: ['count'],
      properties: {
        start: { type: 'number', default: 0 },
        count: { type: 'integer', minimum: 0 },
        step: { type: 'number', default: 1 },
      },
    },
    node: SequenceNode,
  },
  {
    key: 'example.summary',
    doc: 'Reduces a number stream with a reducer component and writes it to the run directory.',
    inputs: { values: { type: 'Number' } },
    outputs: { summary: { type: 'Summary' } },
    params: {
      type: 'object',
      additionalProperties: false,
      properties: {
        reducer: { 'x-component': 'reducer', default: { component: 'reducer.mean' } },
        file: { type: 'string', default: 'summary.json' },
      },
    },
    node: SummaryNode,
  },
];

export const components: ComponentManifest[] = [
  {
    key: 'reducer.mean',
    kind: 'reducer',
    doc: 'Arithmetic mean.',
    params: { type: 'object', properties: {} },
    component: MeanReducer,
  },
  {
    key: 'reducer.max',
    kind: 'reducer',
    doc: 'Maximum, at least `floor`.',
    params: { type: 'object', properties: { floor: { type: 'number', default: -1e308 } } },
    component: MaxReducer,
  },
];
