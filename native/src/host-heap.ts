import type * as tf from '@tensorflow/tfjs-core';

/** What the executor of a kernel receives from tfjs (only the fields e3's kernels use). */
export interface KernelArgs {
  inputs: Record<string, tf.TensorInfo>;
  backend: unknown;
  attrs?: Record<string, unknown>;
}

/**
 * Tensor memory that native code can read and write in place: outputs are allocated here and
 * every tensor is seen as a typed-array view, without copies. The wasm backend's heap is one
 * (views into the wasm32 memory, at most 4 GiB in all); the cpu backend's typed arrays are the
 * other (ordinary host memory, as large as the machine's).
 */
export interface HostHeap {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.backend_util.TypedArray;
  /**
   * True when makeOutput's memory is all zeros (fresh typed arrays: the OS maps zero pages on
   * first touch); a kernel that needs zeros then skips the fill and touches only what it writes.
   */
  readonly outputsAreZeroed?: boolean;
}

/** The backends whose tensors are host memory that a HostHeap can expose. */
export const HOST_BACKENDS = ['wasm', 'cpu'] as const;
export type HostBackendName = (typeof HOST_BACKENDS)[number];

export function isHostBackend(name: string): name is HostBackendName {
  return (HOST_BACKENDS as readonly string[]).includes(name);
}

interface CpuBackend {
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
  data: { get(id: tf.DataId): { values: tf.backend_util.BackendValues } };
}

const ARRAYS = { float32: Float32Array, int32: Int32Array, bool: Uint8Array } as const;

/** The cpu backend's typed arrays as a HostHeap. */
function cpuHeap(cpu: CpuBackend): HostHeap {
  return {
    outputsAreZeroed: true,
    makeOutput(shape, dtype) {
      const size = shape.reduce((a, b) => a * b, 1);
      const Array = ARRAYS[dtype as keyof typeof ARRAYS];
      if (!Array) throw new Error(`native kernels: no host array for dtype ${dtype}`);
      return cpu.makeTensorInfo(shape, dtype, new Array(size));
    },
    typedArrayFromHeap(t) {
      return cpu.data.get(t.dataId).values as tf.backend_util.TypedArray;
    },
  };
}

const heaps = new WeakMap<object, HostHeap>();

/** The HostHeap of a kernel's backend (the wasm backend is one already; the cpu one is wrapped). */
export function hostHeap(backend: unknown): HostHeap {
  const b = backend as object;
  if (typeof (b as Partial<HostHeap>).typedArrayFromHeap === 'function') return b as HostHeap;
  let heap = heaps.get(b);
  if (!heap) heaps.set(b, (heap = cpuHeap(b as CpuBackend)));
  return heap;
}

/**
 * An output that is input `x` itself: the same buffer, one more reference (as the backends' own
 * Reshape does). For kernels whose result equals an input, and for in-place updates.
 */
export function shareInput(backend: unknown, x: tf.TensorInfo): tf.TensorInfo {
  (backend as { incRef(id: tf.DataId): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Float32Array views of the named tensors. */
export function views(heap: HostHeap, tensors: Record<string, tf.TensorInfo>): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(tensors)) out[name] = heap.typedArrayFromHeap(t) as Float32Array;
  return out;
}
