import * as tf from '@tensorflow/tfjs-core';
import { WASM_HEAP_BYTES } from '@e3/native';

const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;

/**
 * What the wasm backend's failure `e` means, when it is its heap running out; else undefined.
 * tfjs-backend-wasm is built to abort when malloc fails: the allocation that does not fit throws
 * a WebAssembly.RuntimeError "Aborted()" in whichever node asked for it (not the one that filled
 * the heap), and the module is dead from then on. An access past the heap's end ("memory access
 * out of bounds") is the other form, counted as out of memory only when the heap is nearly full.
 */
export function wasmOutOfMemory(e: unknown): string | undefined {
  if (!(e instanceof WebAssembly.RuntimeError)) return undefined;
  const aborted = /^Aborted\(/.test(e.message);
  if (!aborted && !/memory access out of bounds/.test(e.message)) return undefined;
  let live: number;
  try {
    if (tf.getBackend() !== 'wasm') return undefined;
    live = tf.memory().numBytes;
  } catch {
    return undefined;
  }
  if (!aborted && live < 0.75 * WASM_HEAP_BYTES) return undefined;
  return (
    `the wasm backend ran out of memory (it threw "${e.message.split('.')[0]}"): its heap holds at most ` +
    `${gib(WASM_HEAP_BYTES)} and ${gib(live)} of tensors were live when this node asked for more. If this node needs ` +
    'far less, an earlier node holds tensors it never released. The backend cannot go on after this (fix: ' +
    'backend: cpu in the graph, or --set backend=cpu, which holds tensors in host memory; or smaller batches: ' +
    "the node's batchSize, microBatch or examples)"
  );
}
