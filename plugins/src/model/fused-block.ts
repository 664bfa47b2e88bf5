import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas, type BlockDims, type KernelArgs, type NativeBlas, type WasmHeap } from '@e3/core';
import type { LayerWeights } from './weights.js';

/**
 * One whole decoder block as one tfjs kernel on the wasm backend, computed by the native addon
 * (native/decoder_block.cc) on the wasm heap: forward in one call, backward in one call plus one
 * small call per weight whose gradient the tape asks for. The op-by-op block in decoder.ts is
 * ~40 kernels forward and ~90 backward, and at the sizes e3 trains on a CPU their dispatch
 * overhead, not arithmetic, was most of a step (bench/results/throughput.md). Same equations,
 * same operation order: parity with the op-by-op path on the cpu backend is tested to 1e-4.
 *
 * Used when the backend is wasm and the addon is built; `E3_FUSED=0` turns it off (and
 * `E3_NATIVE_BLAS=0` turns off every native kernel). Gradients through a KV cache are not
 * supported (nothing needs them): with a cache the kernel runs forward only.
 */
const FORWARD = 'E3DecoderBlock';
const BACKWARD = 'E3DecoderBlockGrad';
const WEIGHT_GRADIENT = 'E3DecoderBlockWeightGrad';
const WORKSPACE = 'E3Workspace';

/** The block's parameters as kernel inputs (names as in weights.ts). */
const WEIGHTS: readonly (keyof LayerWeights)[] = ['inputNorm', 'q', 'k', 'v', 'qBias', 'kBias', 'vBias', 'qNorm', 'kNorm', 'o', 'oBias',
  'postAttentionNorm', 'gate', 'up', 'down', 'gateBias', 'upBias', 'downBias'];

/**
 * Inputs the gradient needs, in this order; an absent optional weight is an empty tensor.
 * `workspace` receives the activations the backward pass reuses: it is an input the kernel
 * fills rather than an output, because tfjs materialises a zero gradient for every output that
 * does not reach the loss — megabytes per block per step for an activation store.
 */
const SAVED_INPUTS: readonly string[] = [...WEIGHTS, 'x', 'blockGate', 'cos', 'sin', 'attn', 'workspace'];

interface ForwardAttrs { dims: BlockDims; save: boolean; cache: boolean }

let empty: tf.Tensor | undefined;

/** A shared empty tensor standing for an absent optional weight. */
function absent(): tf.Tensor {
  if (!empty || empty.isDisposed) empty = tf.keep(tf.zeros([0]));
  return empty;
}

let addon: NativeBlas | undefined | null = null;

function native(): NativeBlas | undefined {
  if (addon === null) {
    const a = process.env.E3_FUSED === '0' ? undefined : loadNativeBlas();
    addon = a?.decoderBlockForward && a.decoderBlockBackward && a.decoderBlockWeightGradient && a.decoderBlockSizes ? a : undefined;
  }
  return addon;
}

function views(heap: WasmHeap, tensors: Record<string, tf.TensorInfo>): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(tensors)) out[name] = heap.typedArrayFromHeap(t) as Float32Array;
  return out;
}

function forwardKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const heap = backend as WasmHeap;
  const a = attrs as unknown as ForwardAttrs;
  const d = a.dims;
  const addonFns = native()!;
  const outs = [heap.makeOutput([d.B * d.T, d.D], 'float32')];
  if (a.cache) outs.push(heap.makeOutput([d.B, d.KV, d.P + d.T, d.hd], 'float32'), heap.makeOutput([d.B, d.KV, d.P + d.T, d.hd], 'float32'));
  // Views only after every allocation: makeOutput may grow (and so move) the heap.
  const [y, newK, newV] = outs.map((t) => heap.typedArrayFromHeap(t) as Float32Array);
  const { workspace, ...tensors } = views(heap, inputs);
  addonFns.decoderBlockForward!(d, tensors, { y, saved: workspace, newK, newV });
  return outs;
}

function backwardKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const heap = backend as WasmHeap;
  const d = (attrs as { dims: BlockDims }).dims;
  const addonFns = native()!;
  const outs = [heap.makeOutput([d.B * d.T, d.D], 'float32'), heap.makeOutput(inputs.blockGate.shape, 'float32'), heap.makeOutput([addonFns.decoderBlockSizes!(d).upstream], 'float32')];
  const [dx, dgate, upstream] = outs.map((t) => heap.typedArrayFromHeap(t) as Float32Array);
  addonFns.decoderBlockBackward!(d, views(heap, inputs), { dx, dgate, upstream });
  return outs;
}

function workspaceKernel({ backend, attrs }: KernelArgs): tf.TensorInfo {
  return (backend as WasmHeap).makeOutput([Number(attrs?.size)], 'float32');
}

function weightGradientKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const heap = backend as WasmHeap;
  const a = attrs as { dims: BlockDims; name: string; shape: number[] };
  const out = heap.makeOutput(a.shape, 'float32');
  const view = heap.typedArrayFromHeap(out) as Float32Array;
  native()!.decoderBlockWeightGradient!(a.dims, views(heap, inputs), a.name, view);
  return out;
}

/**
 * Gradient of the block. dx and dgate (always needed: the residual stream and the mask carry
 * the gradient to earlier blocks) come from one backward call, which also leaves the gradient
 * flowing into every weighted operation in `upstream`; each weight's gradient is then one small
 * call made only if the tape asks for it — so the mask search, whose weights are frozen, does
 * no weight-gradient work at all.
 */
function gradient(dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap): Record<string, () => tf.Tensor> {
  const a = attrs as unknown as ForwardAttrs;
  const tensors: Record<string, tf.Tensor> = {};
  SAVED_INPUTS.forEach((name, i) => { tensors[name] = saved[i]; });
  const savedBuffer = tensors.workspace;
  const dyOut = (Array.isArray(dy) ? dy[0] : dy) ?? tf.zeros([a.dims.B * a.dims.T, a.dims.D]);
  const [dx, dgate, upstream] = tf.engine().runKernel(BACKWARD, { ...tensors, saved: savedBuffer, dy: dyOut }, { dims: a.dims } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  const grads: Record<string, () => tf.Tensor> = { x: () => dx, blockGate: () => dgate };
  for (const name of ['cos', 'sin', 'attn', 'workspace']) grads[name] = () => tf.zerosLike(tensors[name]);
  for (const name of WEIGHTS) {
    grads[name] = tensors[name].size === 0 ? () => tf.zerosLike(tensors[name]) : () => tf.engine().runKernel(WEIGHT_GRADIENT, { x: tensors.x, saved: savedBuffer, upstream }, { dims: a.dims, name, shape: tensors[name].shape } as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return grads;
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: FORWARD, backendName: 'wasm', kernelFunc: forwardKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: BACKWARD, backendName: 'wasm', kernelFunc: backwardKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: WORKSPACE, backendName: 'wasm', kernelFunc: workspaceKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: WEIGHT_GRADIENT, backendName: 'wasm', kernelFunc: weightGradientKernel as unknown as tf.KernelFunc });
  tf.registerGradient({ kernelName: FORWARD, inputsToSave: [...SAVED_INPUTS], gradFunc: gradient as unknown as tf.GradFunc });
}

/** Whether decoder blocks run fused on the current backend (and registers the kernels if so). */
export function fusedBlocksAvailable(): boolean {
  if (tf.getBackend() !== 'wasm' || !native()) return false;
  register();
  return true;
}

/** Whether the current computation is being recorded for gradients. */
export function tapeIsRecording(): boolean {
  const state = (tf.engine() as unknown as { state: { gradientDepth: number; kernelDepth: number } }).state;
  return state.gradientDepth > 0 && state.kernelDepth === 0;
}

export interface FusedBlockInput {
  weights: LayerWeights;
  /** Residual stream [B·T, d]. */
  x: tf.Tensor2D;
  /** The block's gate m (1 = kept as is); a tensor when its gradient is wanted. */
  gate: number | tf.Tensor;
  /** Rotary tables [B·T, headDim]. */
  cos: tf.Tensor2D; sin: tf.Tensor2D;
  /** [B, past + T] float: 1 for real tokens, 0 for padding. */
  attn: tf.Tensor2D;
  past?: { k: tf.Tensor4D; v: tf.Tensor4D };
  /** Return this block's keys and values [B, KV, past + T, headDim] for a cache. */
  keepCache: boolean;
  dims: Omit<BlockDims, 'P'>;
}

/** The block's output [B·T, d] (and its cache when asked), computed by the fused kernel. */
export function fusedBlock(input: FusedBlockInput): { y: tf.Tensor2D; cache?: { k: tf.Tensor4D; v: tf.Tensor4D } } {
  const d: BlockDims = { ...input.dims, P: input.past?.k.shape[2] ?? 0 };
  const tensors: Record<string, tf.Tensor> = {};
  for (const name of WEIGHTS) tensors[name] = input.weights[name] ?? absent();
  tensors.x = input.x;
  tensors.blockGate = typeof input.gate === 'number' ? tf.scalar(input.gate) : input.gate;
  Object.assign(tensors, { cos: input.cos, sin: input.sin, attn: input.attn });
  if (input.past) Object.assign(tensors, { pastK: input.past.k, pastV: input.past.v });
  const save = tapeIsRecording();
  if (save && input.past) throw new Error('fused decoder block: gradients through a KV cache are not supported');
  if (save) tensors.workspace = tf.engine().runKernel(WORKSPACE, {}, { size: native()!.decoderBlockSizes!(d).saved }) as tf.Tensor;
  const attrs: ForwardAttrs = { dims: d, save, cache: input.keepCache || Boolean(input.past) };
  const outs = tf.engine().runKernel(FORWARD, tensors as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return { y: outs[0] as tf.Tensor2D, cache: attrs.cache ? { k: outs[1] as tf.Tensor4D, v: outs[2] as tf.Tensor4D } : undefined };
}
