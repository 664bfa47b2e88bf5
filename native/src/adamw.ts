import type * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import { bf16CopyForUpdate } from './bf16-copies.js';
import { hostHeap, shareInput, type KernelArgs } from './host-heap.js';
import { fromAttrs } from './kernel-attrs.js';

/** The kernel name the trainer's AdamW looks for on the current backend. */
export const ADAMW_KERNEL = 'E3AdamW';

export interface AdamWAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  decay: number;
  bc1: number;
  bc2: number;
  /** Multiplies the gradient (global-norm clipping); 1 when absent. */
  gradScale?: number;
}

/** A backend that counts references to its buffers (the cpu backend does; tensors may share one). */
interface RefCounting {
  refCount(id: tf.DataId): number;
  incRef(id: tf.DataId): void;
}

/**
 * The output for input `t`: `t`'s own buffer, updated in place, when the backend counts references
 * and nothing but `t` holds it (the optimizer's moments; a variable no other tensor shares, e.g.
 * not a student still sharing weights with its teacher); a new buffer otherwise. In place, a
 * distillation step of a 0.6B model allocates 7 GB less (three new copies of every weight).
 */
function outputFor(t: tf.TensorInfo, heap: ReturnType<typeof hostHeap>, backend: unknown): tf.TensorInfo {
  const b = backend as Partial<RefCounting>;
  if (typeof b.refCount === 'function' && typeof b.incRef === 'function' && b.refCount(t.dataId) === 1) {
    return shareInput(backend, t);
  }
  return heap.makeOutput(t.shape, 'float32');
}

/**
 * `E3AdamW`: one AdamW update of one parameter in a single pass over host memory, on
 * g = the gradient × gradScale: m' = β1·m + (1−β1)·g; v' = β2·v + (1−β2)·g²;
 * w' = w·(1 − lr·decay) − lr·(m'/bc1)/(√(v'/bc2) + ε); instead of ~13 tensor ops each dispatched through the engine. Outputs [w', m', v']. The addon's
 * loop when it is built, else the same loop in JS.
 */
export function adamwKernel(addonNow: () => NativeAddon | undefined) {
  return ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const addon = addonNow();
    const heap = hostHeap(backend);
    const { w, g, m, v } = inputs;
    const a = fromAttrs<AdamWAttrs>(attrs);
    const scale = a.gradScale ?? 1;
    // Each element is read before it is written, at the same index: the update may run in place.
    const outs = [outputFor(w, heap, backend), outputFor(m, heap, backend), outputFor(v, heap, backend)];
    // Views after every allocation: makeOutput may grow (and so replace) the wasm heap.
    const [wv, gv, mv, vv] = [w, g, m, v].map((t) => heap.typedArrayFromHeap(t) as Float32Array);
    const [wo, mo, vo] = outs.map((t) => heap.typedArrayFromHeap(t) as Float32Array);
    if (addon) {
      // A weight that bf16 products read has a bf16 copy: the update writes the new one in its pass.
      const copy = bf16CopyForUpdate(w.dataId, outs[0].dataId, wv.length);
      addon.adamw(wv, gv, mv, vv, wo, mo, vo, a.lr, a.beta1, a.beta2, a.eps, a.decay, a.bc1, a.bc2, scale, copy);
      return outs;
    }
    const keep = 1 - a.lr * a.decay;
    for (let i = 0; i < wv.length; i++) {
      const gi = gv[i] * scale;
      const mi = a.beta1 * mv[i] + (1 - a.beta1) * gi;
      const vi = a.beta2 * vv[i] + (1 - a.beta2) * gi * gi;
      mo[i] = mi;
      vo[i] = vi;
      wo[i] = wv[i] * keep - (a.lr * (mi / a.bc1)) / (Math.sqrt(vi / a.bc2) + a.eps);
    }
    return outs;
  };
}
