import * as tf from '@tensorflow/tfjs-core';

type Replaced = tf.KernelConfig & { e3Replaced?: boolean };

/**
 * Replaces the wasm backend's kernel `name` with `make(original)`, once: later calls find the
 * marker and leave it. The original's one-time setup (which binds its wasm functions) is kept,
 * so that the original stays usable as the fallback whether the backend initialises before or
 * after the replacement. Returns true when it replaced the kernel now.
 */
export function replaceWasmKernel(name: string, make: (original: tf.KernelFunc) => tf.KernelFunc): boolean {
  const original = tf.getKernel(name, 'wasm') as Replaced | undefined;
  if (!original || original.e3Replaced) return false;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: make(original.kernelFunc), setupFunc: original.setupFunc, e3Replaced: true } as Replaced);
  return true;
}

/** Whether e3 replaced the wasm backend's kernel `name` (see replaceWasmKernel). */
export function isReplacedWasmKernel(name: string): boolean {
  return Boolean((tf.getKernel(name, 'wasm') as Replaced | undefined)?.e3Replaced);
}
