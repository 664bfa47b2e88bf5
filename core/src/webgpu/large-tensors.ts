import * as tf from '@tensorflow/tfjs-core';

/**
 * Tensors larger than one storage-buffer binding on webgpu. A shader reads a tensor through one
 * binding, and a binding may not exceed the device's `maxStorageBufferBindingSize` (128 MiB on
 * lavapipe and many GPUs, whatever the adapter offers), while a Qwen3-sized embedding
 * [151936, 1024] is 622 MB. Buffers may be larger (`maxBufferSize`), so such a tensor lives in
 * one buffer and the kernels that read it — the embedding lookup (GatherV2 along axis 0) and
 * the output head (BatchMatMul with the big operand's rows free) — run once per row window:
 * a binding of part of the buffer (offset + size), no copy. Any other kernel that would bind a
 * tensor over the limit throws, naming it, instead of Dawn's silent wrong result.
 */

interface TensorData {
  dtype: string;
  resource?: unknown;
  external?: boolean;
}

interface WebgpuBackend {
  device: { limits: Record<string, number> };
  tensorMap: { get(id: tf.DataId): TensorData };
  commandQueueOwnedIds: WeakSet<tf.DataId>;
  uploadToGPU(id: tf.DataId): void;
  write(values: null, shape: number[], dtype: string): tf.DataId;
  makeTensorInfo(shape: number[], dtype: string, values?: Int32Array): tf.TensorInfo;
  disposeData(id: tf.DataId): void;
  recordAndSubmit(program: object, output: tf.TensorInfo, inputs: tf.TensorInfo[], ...rest: unknown[]): void;
  e3Guarded?: boolean;
}

type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: WebgpuBackend; attrs: Record<string, unknown> };
type Kernel = (args: KernelArgs) => tf.TensorInfo;

let override: number | undefined;
const splitCalls = { GatherV2: 0, BatchMatMul: 0 };

/** Lowers the binding limit below the device's (tests force row windows on small models); undefined restores it. */
export function limitWebgpuBindings(bytes?: number): void {
  override = bytes;
}

/** How many GatherV2 and BatchMatMul calls ran in row windows since start-up. */
export function webgpuSplitCounts(): { GatherV2: number; BatchMatMul: number } {
  return { ...splitCalls };
}

function bindingLimit(backend: WebgpuBackend): number {
  return Math.min(Number(backend.device.limits.maxStorageBufferBindingSize), override ?? Infinity);
}

const bytesOf = (t: tf.TensorInfo) => 4 * tf.util.sizeFromShape(t.shape);
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

function run(name: string, backend: WebgpuBackend, inputs: Record<string, tf.TensorInfo>, attrs = {}): tf.TensorInfo {
  return (tf.getKernel(name, 'webgpu')!.kernelFunc as unknown as Kernel)({ inputs, backend, attrs });
}

interface RowWindow {
  start: number;
  rows: number;
  view: tf.TensorInfo;
}

/**
 * `x` seen as `rows` rows of equal size, cut into windows that each fit one binding (offsets
 * aligned to the device's minStorageBufferOffsetAlignment); `shape(r)` is a window's shape.
 * Undefined when one row alone exceeds the limit.
 */
function rowWindows(
  backend: WebgpuBackend,
  x: tf.TensorInfo,
  rows: number,
  shape: (r: number) => number[],
): RowWindow[] | undefined {
  const rowBytes = bytesOf(x) / rows;
  const align = Number(backend.device.limits.minStorageBufferOffsetAlignment) || 256;
  const step = align / gcd(rowBytes, align);
  const perWindow = Math.floor(Math.floor(bindingLimit(backend) / rowBytes) / step) * step;
  if (perWindow === 0) return undefined;
  backend.uploadToGPU(x.dataId);
  const buffer = backend.tensorMap.get(x.dataId).resource;
  // Like tfjs for a program's inputs: the buffer stays allocated until the queued work is submitted.
  backend.commandQueueOwnedIds.add(x.dataId);
  const windows: RowWindow[] = [];
  for (let start = 0; start < rows; start += perWindow) {
    const r = Math.min(perWindow, rows - start);
    const dataId = backend.write(null, shape(r), x.dtype);
    const data = backend.tensorMap.get(dataId);
    data.resource = { buffer, offset: start * rowBytes, size: r * rowBytes };
    data.external = true; // disposing the window leaves the buffer to its tensor
    windows.push({ start, rows: r, view: { dataId, shape: shape(r), dtype: x.dtype } });
  }
  return windows;
}

/** GatherV2 along axis 0 of a tensor over the limit: one lookup per window, each row taken from its window. */
function gatherInWindows(original: Kernel): Kernel {
  return (args) => {
    const { x, indices } = args.inputs;
    const backend = args.backend;
    const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0];
    if (bytesOf(x) <= bindingLimit(backend) || axis !== 0 || args.attrs.batchDims !== 0) return original(args);
    const rest = x.shape.slice(1);
    const windows = rowWindows(backend, x, x.shape[0], (r) => [r, ...rest]);
    if (!windows) return original(args);
    splitCalls.GatherV2++;
    const temp: tf.TensorInfo[] = [];
    const keep = (t: tf.TensorInfo) => (temp.push(t), t);
    const ids = keep(run('Reshape', backend, { x: indices }, { shape: [tf.util.sizeFromShape(indices.shape)] }));
    let rowsOut: tf.TensorInfo | undefined;
    for (const w of windows) {
      const start = keep(backend.makeTensorInfo([], 'int32', new Int32Array([w.start])));
      const local = keep(run('Sub', backend, { a: ids, b: start }));
      // Ids outside the window read zeros (tfjs's bounds check) and are replaced below.
      const part = keep(run('GatherV2', backend, { x: w.view, indices: local }, { axis: 0, batchDims: 0 }));
      if (rowsOut) {
        const inWindow = keep(run('GreaterEqual', backend, { a: ids, b: start }));
        rowsOut = keep(run('Select', backend, { condition: inWindow, t: part, e: rowsOut }));
      } else rowsOut = part;
    }
    const out = run('Reshape', backend, { x: rowsOut! }, { shape: [...indices.shape, ...rest] });
    for (const t of [...temp, ...windows.map((w) => w.view)]) backend.disposeData(t.dataId);
    return out;
  };
}

/**
 * BatchMatMul with an operand over the limit whose rows are an output axis (b transposed —
 * the output head x·Wᵀ — or a not transposed): one product per window, joined along that axis.
 */
function matMulInWindows(original: Kernel): Kernel {
  return (args) => {
    const { a, b } = args.inputs;
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const backend = args.backend;
    const limit = bindingLimit(backend);
    const single = (t: tf.TensorInfo) => tf.util.sizeFromShape(t.shape.slice(0, -2)) === 1;
    const bigB = bytesOf(b) > limit && transposeB;
    const bigA = !bigB && bytesOf(a) > limit && !transposeA;
    if (!(bigA || bigB) || !single(a) || !single(b)) return original(args);
    const big = bigB ? b : a;
    const lead = big.shape.slice(0, -2);
    const k = big.shape[big.shape.length - 1];
    const windows = rowWindows(backend, big, big.shape[big.shape.length - 2], (r) => [...lead, r, k]);
    if (!windows) return original(args);
    splitCalls.BatchMatMul++;
    const parts = windows.map((w) =>
      run('BatchMatMul', backend, bigB ? { a, b: w.view } : { a: w.view, b }, args.attrs),
    );
    const out = parts.length === 1 ? parts[0] : run('Concat', backend, parts as never, { axis: bigB ? -1 : -2 });
    for (const t of [...(parts.length === 1 ? [] : parts), ...windows.map((w) => w.view)])
      backend.disposeData(t.dataId);
    return out;
  };
}

function replaceKernel(name: string, wrap: (original: Kernel) => Kernel): void {
  const config = tf.getKernel(name, 'webgpu') as (tf.KernelConfig & { e3Windows?: boolean }) | undefined;
  if (!config || config.e3Windows) return;
  tf.unregisterKernel(name, 'webgpu');
  tf.registerKernel({
    ...config,
    kernelFunc: wrap(config.kernelFunc as unknown as Kernel) as unknown as tf.KernelFunc,
    e3Windows: true,
  } as tf.KernelConfig);
}

const MIB = 2 ** 20;

/** Every program's bindings are checked against the limit before Dawn sees them. */
function guardBindings(backend: WebgpuBackend): void {
  if (backend.e3Guarded) return;
  const record = backend.recordAndSubmit.bind(backend);
  backend.recordAndSubmit = (program, output, inputs, ...rest) => {
    const limit = bindingLimit(backend);
    for (const t of [output, ...inputs]) {
      const resource = backend.tensorMap.get(t.dataId)?.resource as { size?: number; offset?: number } | undefined;
      const whole = resource && resource.offset === undefined ? Number(resource.size) : 0;
      if (whole > limit)
        throw new Error(
          `webgpu: ${program.constructor.name} binds a tensor [${t.shape.join(', ')}] ` +
            `of ${(whole / MIB).toFixed(0)} MiB, ` +
            `above the storage-buffer binding limit (${(limit / MIB).toFixed(0)} MiB); e3 runs GatherV2 (axis 0) and ` +
            'BatchMatMul over such tensors in row windows, not this kernel (use backend: wasm or cpu for this model)',
        );
    }
    record(program, output, inputs, ...rest);
  };
  backend.e3Guarded = true;
}

/** Installs the row-window kernels and the binding guard on the active webgpu backend; returns a note for the log. */
export function enableLargeTensors(): string {
  replaceKernel('GatherV2', gatherInWindows);
  replaceKernel('BatchMatMul', matMulInWindows);
  const backend = tf.backend() as unknown as WebgpuBackend;
  guardBindings(backend);
  const { maxStorageBufferBindingSize: binding, maxBufferSize: buffer } = backend.device.limits;
  return (
    `binding limit ${(Number(binding) / MIB).toFixed(0)} MiB, buffer limit ${(Number(buffer) / MIB).toFixed(0)} MiB ` +
    '(tensors above the binding limit: embedding lookup and output head in row windows)'
  );
}
