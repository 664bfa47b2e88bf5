/**
 * A test node for the wasm heap running out (test/core/wasm-out-of-memory.test.ts), loaded with
 * `--plugin`: `test.heapAbort` makes a tensor of `mib` MiB, keeps it, then fails as
 * tfjs-backend-wasm fails when malloc cannot grow its 4 GiB heap: a WebAssembly.RuntimeError
 * "Aborted(). Build with -sASSERTIONS for more info." Filling the real heap takes 4 GiB of
 * memory and minutes on a small machine; the error is the backend's own, word for word.
 */
import 'reflect-metadata';
import * as tf from '@tensorflow/tfjs-core';
import { injectable } from 'inversify';
import { once, type GraphNode, type PluginManifest } from '@e3/core';

@injectable()
class HeapAbortNode implements GraphNode<{ mib: number }> {
  connect(_inputs: Record<string, never>, p: { mib: number }) {
    return {
      done: once({}, [], () => {
        tf.keep(tf.zeros([p.mib * 2 ** 18]));
        throw new WebAssembly.RuntimeError('Aborted(). Build with -sASSERTIONS for more info.');
      }),
    };
  }
}

export const plugins: PluginManifest[] = [
  {
    key: 'test.heapAbort',
    doc: "Keeps a tensor of mib MiB, then throws the wasm backend's abort.",
    inputs: {},
    outputs: { done: { type: 'any' } },
    params: {
      type: 'object',
      additionalProperties: false,
      properties: { mib: { type: 'integer', minimum: 1, default: 64 } },
    },
    node: HeapAbortNode,
  },
];
