/**
 * Test nodes for runs that stop making progress (test/core/stall.test.ts), loaded with `--plugin`:
 * - `test.neverCompletes` emits `values` values and never completes; with `keepAlive` it also
 *   holds a timer, so that the process does not run out of work;
 * - `test.last` passes on the last value of its input, once that input completes;
 * - `test.ticking` emits one value after `seconds`, reporting progress every `tickMs` meanwhile.
 */
import 'reflect-metadata';
import { inject, injectable } from 'inversify';
import { Observable, last } from 'rxjs';
import { PROGRESS, type GraphNode, type PluginManifest, type Progress } from '@e3/core';

@injectable()
class NeverCompletesNode implements GraphNode<{ values: number; keepAlive: boolean }> {
  connect(_inputs: Record<string, never>, p: { values: number; keepAlive: boolean }) {
    return {
      out: new Observable<number>((sub) => {
        for (let i = 0; i < p.values; i++) sub.next(i);
        const timer = p.keepAlive ? setInterval(() => undefined, 100) : undefined;
        return () => clearInterval(timer);
      }),
    };
  }
}

@injectable()
class LastNode implements GraphNode {
  connect(inputs: { in: Observable<number> }) {
    return { out: inputs.in.pipe(last()) };
  }
}

@injectable()
class TickingNode implements GraphNode<{ seconds: number; tickMs: number }> {
  constructor(@inject(PROGRESS) private readonly progress: Progress) {}

  connect(_inputs: Record<string, never>, p: { seconds: number; tickMs: number }) {
    return {
      out: new Observable<number>((sub) => {
        const task = this.progress.start('ticking', Math.ceil((p.seconds * 1000) / p.tickMs));
        let n = 0;
        const timer = setInterval(() => {
          task.tick(++n);
          if (n * p.tickMs < p.seconds * 1000) return;
          clearInterval(timer);
          task.done();
          sub.next(n);
          sub.complete();
        }, p.tickMs);
        return () => clearInterval(timer);
      }),
    };
  }
}

const number = { type: 'Number' } as const;
const params = (properties: Record<string, unknown>) => ({ type: 'object', additionalProperties: false, properties });
export const plugins: PluginManifest[] = [
  {
    key: 'test.neverCompletes',
    doc: 'Emits values and never completes.',
    inputs: {},
    outputs: { out: number },
    params: params({
      values: { type: 'integer', minimum: 0, default: 1 },
      keepAlive: { type: 'boolean', default: false },
    }),
    node: NeverCompletesNode,
  },
  {
    key: 'test.last',
    doc: 'The last value of its input.',
    inputs: { in: number },
    outputs: { out: number },
    params: params({}),
    node: LastNode,
  },
  {
    key: 'test.ticking',
    doc: 'One value after `seconds`, with a progress tick every `tickMs`.',
    inputs: {},
    outputs: { out: number },
    params: params({
      seconds: { type: 'number', minimum: 0, default: 3 },
      tickMs: { type: 'integer', minimum: 1, default: 200 },
    }),
    node: TickingNode,
  },
];
