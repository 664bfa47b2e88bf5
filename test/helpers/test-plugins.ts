import 'reflect-metadata';
import { inject, injectable } from 'inversify';
import { Observable, map, from, throwError, concat } from 'rxjs';
import {
  COMPONENT_PARAMS,
  manifestModule,
  type ComponentManifest,
  type GraphNode,
  type PluginManifest,
} from '@e3/core';

/** Values seen by every `test.sink` node, by node id (reset by tests). */
export const sunk: Record<string, unknown[]> = {};
/** Teardowns observed, by node id. */
export const tornDown: string[] = [];

interface Op {
  apply(x: number): number;
}

@injectable()
class AddOp implements Op {
  constructor(@inject(COMPONENT_PARAMS) private p: { n: number }) {}
  apply(x: number) {
    return x + this.p.n;
  }
}
@injectable()
class MulOp implements Op {
  constructor(@inject(COMPONENT_PARAMS) private p: { n: number }) {}
  apply(x: number) {
    return x * this.p.n;
  }
}

@injectable()
class SourceNode implements GraphNode {
  connect(_i: unknown, p: { values: number[]; failWith?: string; hang?: boolean }, ctx: { id: string }) {
    if (p.hang)
      return {
        out: new Observable<number>(() => () => {
          tornDown.push(ctx.id);
        }),
      };
    const values = from(p.values);
    return {
      out: p.failWith
        ? concat(
            values,
            throwError(() => new Error(p.failWith)),
          )
        : values,
    };
  }
}
@injectable()
class MapNode implements GraphNode {
  connect(i: { in: Observable<number> }, p: { op: Op }) {
    return { out: i.in.pipe(map((x) => p.op.apply(x))) };
  }
}
@injectable()
class SinkNode implements GraphNode {
  connect(i: { in: Observable<unknown>; extra?: Observable<unknown> }, _p: unknown, ctx: { id: string }) {
    sunk[ctx.id] = [];
    return {
      done: i.in.pipe(
        map((v) => {
          sunk[ctx.id].push(v);
          return v;
        }),
      ),
    };
  }
}
@injectable()
class TextNode implements GraphNode {
  connect() {
    return { out: from(['a']) };
  }
}

const opSlot = { 'x-component': 'op', default: { component: 'op.add', n: 0 } };
export const testPlugins: PluginManifest[] = [
  {
    key: 'test.source',
    doc: 'emits values',
    inputs: {},
    outputs: { out: { type: 'Number' } },
    params: {
      type: 'object',
      additionalProperties: false,
      properties: {
        values: { type: 'array', items: { type: 'number' }, default: [1, 2, 3] },
        failWith: { type: 'string' },
        hang: { type: 'boolean' },
      },
    },
    node: SourceNode,
  },
  {
    key: 'test.map',
    doc: 'applies an op',
    inputs: { in: { type: 'Number' } },
    outputs: { out: { type: 'Number' } },
    params: {
      type: 'object',
      additionalProperties: false,
      properties: { op: opSlot, steps: { type: 'integer', minimum: 1, default: 1 } },
    },
    node: MapNode,
  },
  {
    key: 'test.sink',
    doc: 'collects',
    inputs: { in: { type: 'Number' }, extra: { type: 'Number', optional: true } },
    outputs: { done: { type: 'Number' } },
    params: { type: 'object', properties: {} },
    node: SinkNode,
  },
  {
    key: 'test.text',
    doc: 'emits text',
    inputs: {},
    outputs: { out: { type: 'Text' } },
    params: { type: 'object', properties: {} },
    node: TextNode,
  },
];
export const testComponents: ComponentManifest[] = [
  {
    key: 'op.add',
    kind: 'op',
    doc: 'x + n',
    params: { type: 'object', properties: { n: { type: 'number', default: 1 } } },
    component: AddOp,
  },
  {
    key: 'op.mul',
    kind: 'op',
    doc: 'x * n',
    params: { type: 'object', required: ['n'], properties: { n: { type: 'number' } } },
    component: MulOp,
  },
];
export const testModule = manifestModule(testPlugins, testComponents);
