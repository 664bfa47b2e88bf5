/**
 * Test nodes for stopping runs (test/core/cancel.test.ts), loaded with `--plugin`:
 * - `test.slowReads` passes a model on with each weight's values read `delayMs` late, so
 *   that exporting the toy model takes as long as a large checkpoint's export;
 * - `test.stubborn` waits `seconds` without ever looking at its signal, like a long
 *   computation that cannot be interrupted.
 */
import 'reflect-metadata';
import { injectable } from 'inversify';
import type * as tf from '@tensorflow/tfjs-core';
import { once, type GraphNode, type PluginManifest } from '@e3/core';
import type { ModelHandle } from '@e3/plugins';
import type { Observable } from 'rxjs';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The tensor with a slow `data()`; everything else (shape, dtype, size) is the tensor's own. */
function slowTensor(t: tf.Tensor, delayMs: number): tf.Tensor {
  return Object.create(t, {
    data: {
      value: async () => {
        await sleep(delayMs);
        return t.data();
      },
    },
  }) as tf.Tensor;
}

@injectable()
class SlowReadsNode implements GraphNode<{ delayMs: number }> {
  connect(inputs: { model: Observable<ModelHandle> }, p: { delayMs: number }) {
    return {
      model: once(inputs, ['model'], ({ model: h }) => {
        const model = new Proxy(h.model, {
          get(target, key) {
            if (key === 'named')
              return () => new Map([...target.named()].map(([name, t]) => [name, slowTensor(t, p.delayMs)]));
            const v = Reflect.get(target, key, target) as unknown;
            return typeof v === 'function' ? v.bind(target) : v;
          },
        });
        return { ...h.retain(), model }; // its dispose() releases the hold: the run releases both handles
      }),
    };
  }
}

@injectable()
class StubbornNode implements GraphNode<{ seconds: number }> {
  connect(_inputs: Record<string, never>, p: { seconds: number }) {
    return { done: once({}, [], () => sleep(p.seconds * 1000).then(() => 1)) };
  }
}

export const plugins: PluginManifest[] = [
  {
    key: 'test.slowReads',
    doc: "Passes a model on; reading each weight's values takes delayMs longer.",
    inputs: { model: { type: 'Model' } },
    outputs: { model: { type: 'Model' } },
    params: {
      type: 'object',
      additionalProperties: false,
      properties: { delayMs: { type: 'integer', minimum: 0, default: 200 } },
    },
    node: SlowReadsNode,
  },
  {
    key: 'test.stubborn',
    doc: 'Waits, never checking its signal.',
    inputs: {},
    outputs: { done: { type: 'any' } },
    params: {
      type: 'object',
      additionalProperties: false,
      properties: { seconds: { type: 'number', minimum: 0, default: 60 } },
    },
    node: StubbornNode,
  },
];
