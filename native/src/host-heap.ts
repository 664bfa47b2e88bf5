import type * as tf from '@tensorflow/tfjs-core';
import { BufferPool, type BufferPoolStats } from './buffer-pool.js';

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
   * An output whose memory is all zeros without a fill (a fresh typed array: the OS maps zero
   * pages on first touch), where the heap has such memory; a kernel that needs zeros then touches
   * only what it writes. makeOutput's memory may hold old values.
   */
  makeZeroedOutput?(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** The wasm32 heap's hard bound (32-bit addresses): every tensor of a wasm run lives in it. */
export const WASM_HEAP_BYTES = 4 * 2 ** 30;

/** The backends whose tensors are host memory that a HostHeap can expose. */
export const HOST_BACKENDS = ['wasm', 'cpu'] as const;
export type HostBackendName = (typeof HOST_BACKENDS)[number];

export function isHostBackend(name: string): name is HostBackendName {
  return (HOST_BACKENDS as readonly string[]).includes(name);
}

type Values = tf.backend_util.BackendValues;

interface CpuBackend {
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Values): tf.TensorInfo;
  data: { get(id: tf.DataId): { values: Values }; has(id: tf.DataId): boolean };
  disposeData(id: tf.DataId, force?: boolean): boolean;
  readSync(id: tf.DataId): Values;
  write(values: Values, shape: number[], dtype: tf.DataType): tf.DataId;
  move(id: tf.DataId, values: Values, shape: number[], dtype: tf.DataType, refCount: number): void;
}

const ARRAYS = { float32: Float32Array, int32: Int32Array, bool: Uint8Array } as const;

/** The bufferPool option in bytes: how far free buffers may take memory past its high-water mark. */
let poolSlackBytes = 0;
let poolEnabled = false;
interface CpuPool {
  pool: BufferPool;
  /** A float32 tensor on `values` that the pool handed out (not an escape). */
  mint(shape: number[], values: Float32Array): tf.TensorInfo;
  /** A tensor on fresh (zero) `values` that is not counted as resident nor reused. */
  mintSparse(shape: number[], dtype: tf.DataType, values: tf.backend_util.TypedArray): tf.TensorInfo;
}
const pools = new WeakMap<object, CpuPool>();

/**
 * The cpu backend's reuse of disposed outputs (native/src/buffer-pool.ts): the pool, and hooks on
 * the backend that count its live bytes, give a tensor's buffer back on dispose, and mark a buffer
 * escaped when its memory is read out (`readSync`, which `read` calls) or aliased by another tensor
 * (`write`, `move`).
 *
 * The room the pool has: the high-water mark of the backend's live bytes, minus the live bytes now,
 * plus the bufferPool option (the slack). Live plus held memory then never passes the busiest
 * moment so far by more than the slack: reuse does not raise a run's peak, it keeps memory that
 * the peak already needed from going back to the system and being faulted in again.
 */
function poolOf(cpu: CpuBackend): CpuPool {
  const known = pools.get(cpu);
  if (known) return known;
  let live = 0;
  let highWater = 0;
  // Zeroed outputs are mostly untouched zero pages (an embedding's gradient): not resident, so not counted.
  const sparse = new WeakSet<object>();
  const made = new BufferPool(() => highWater - live + poolSlackBytes, poolEnabled);
  const bytes = (values: Values | undefined) =>
    values && !sparse.has(values) ? ((values as { byteLength?: number }).byteLength ?? 0) : 0;
  const grow = (values: Values | undefined) => {
    live += bytes(values);
    if (live > highWater) highWater = live;
    made.trim();
  };
  let minting = false;
  const { disposeData, readSync, write, move } = cpu;
  Object.assign(cpu, {
    disposeData(id: tf.DataId, force?: boolean) {
      const values = cpu.data.has(id) ? cpu.data.get(id).values : undefined;
      const gone = disposeData.call(cpu, id, force);
      if (gone && values && !cpu.data.has(id)) {
        live = Math.max(0, live - bytes(values));
        made.release(values);
      }
      return gone;
    },
    readSync(id: tf.DataId) {
      if (cpu.data.has(id)) made.escape(cpu.data.get(id).values);
      return readSync.call(cpu, id);
    },
    write(values: Values, shape: number[], dtype: tf.DataType) {
      if (!minting) made.escape(values);
      grow(values);
      return write.call(cpu, values, shape, dtype);
    },
    move(id: tf.DataId, values: Values, shape: number[], dtype: tf.DataType, refCount: number) {
      made.escape(values);
      grow(values);
      return move.call(cpu, id, values, shape, dtype, refCount);
    },
  });
  const mint = (shape: number[], values: Float32Array) => {
    minting = true;
    try {
      return cpu.makeTensorInfo(shape, 'float32', values);
    } finally {
      minting = false;
    }
  };
  const mintSparse = (shape: number[], dtype: tf.DataType, values: tf.backend_util.TypedArray) => {
    sparse.add(values);
    return cpu.makeTensorInfo(shape, dtype, values);
  };
  pools.set(cpu, { pool: made, mint, mintSparse });
  return { pool: made, mint, mintSparse };
}

/** The cpu backend's typed arrays as a HostHeap; float32 outputs of ≥ 4 KiB come from its buffer pool. */
function cpuHeap(cpu: CpuBackend): HostHeap {
  const { pool, mint, mintSparse } = poolOf(cpu);
  const fresh = (shape: number[], dtype: tf.DataType) => {
    const Array = ARRAYS[dtype as keyof typeof ARRAYS];
    if (!Array) throw new Error(`native kernels: no host array for dtype ${dtype}`);
    return new Array(shape.reduce((a, b) => a * b, 1));
  };
  return {
    makeOutput(shape, dtype) {
      const size = shape.reduce((a, b) => a * b, 1);
      if (dtype === 'float32' && pool.serves(size)) return mint(shape, pool.take(size));
      return cpu.makeTensorInfo(shape, dtype, fresh(shape, dtype));
    },
    makeZeroedOutput(shape, dtype) {
      return mintSparse(shape, dtype, fresh(shape, dtype) as tf.backend_util.TypedArray);
    },
    typedArrayFromHeap(t) {
      return cpu.data.get(t.dataId).values as tf.backend_util.TypedArray;
    },
  };
}

/**
 * Turns reuse of disposed outputs on the cpu backend on (`slackBytes` ≥ 0: how far past the
 * high-water mark free buffers may take memory; NativeOptions.bufferPool) or off (undefined),
 * and counts the backend's live bytes from now on (call before loading a model). Drops what an
 * existing pool of `backend` holds.
 */
export function setBufferPool(slackBytes: number | undefined, backend?: unknown): void {
  poolEnabled = slackBytes !== undefined;
  poolSlackBytes = slackBytes ?? 0;
  if (!backend) return;
  const { pool } = poolOf(backend as CpuBackend);
  pool.enabled = poolEnabled;
  pool.clear();
}

/** The cpu backend's buffer pool figures (undefined before its first native output). */
export function bufferPoolStats(backend: unknown): BufferPoolStats | undefined {
  return pools.get(backend as object)?.pool.snapshot();
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
