import * as tf from '@tensorflow/tfjs-core';

type Replaced = tf.KernelConfig & { e3Replaced?: boolean };

/**
 * Replaces backend `backendName`'s kernel `name` with `make(original)`, once: later calls find
 * the marker and leave it. The original's one-time setup (which, on wasm, binds its functions)
 * is kept, so the original stays usable as the fallback whether the backend initialises before
 * or after the replacement. Returns true when it replaced the kernel now.
 */
export function replaceKernel(
  name: string,
  backendName: string,
  make: (original: tf.KernelFunc) => tf.KernelFunc,
): boolean {
  const original = tf.getKernel(name, backendName) as Replaced | undefined;
  if (!original || original.e3Replaced) return false;
  tf.unregisterKernel(name, backendName);
  const replaced: Replaced = {
    kernelName: name,
    backendName,
    kernelFunc: make(original.kernelFunc),
    setupFunc: original.setupFunc,
    e3Replaced: true,
  };
  tf.registerKernel(replaced);
  return true;
}

/** Whether e3 replaced backend `backendName`'s kernel `name` (see replaceKernel). */
export function isReplacedKernel(name: string, backendName: string): boolean {
  return Boolean((tf.getKernel(name, backendName) as Replaced | undefined)?.e3Replaced);
}

/** Registers `kernelFunc` as `name` on the backend unless one is there; true when it did. */
export function addKernel(name: string, backendName: string, kernelFunc: (args: never) => unknown): boolean {
  if (tf.getKernel(name, backendName)) return false;
  tf.registerKernel({ kernelName: name, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  return true;
}
