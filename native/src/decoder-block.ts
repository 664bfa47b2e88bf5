import * as tf from '@tensorflow/tfjs-core';
import type { BlockDims, NativeAddon } from './addon.js';
import { bf16CopyOf } from './bf16-copies.js';
import { asAttrs, fromAttrs } from './kernel-attrs.js';
import { hostHeap, views, type HostHeap, type KernelArgs } from './host-heap.js';
import { isPackedBf16 } from './packed-bf16.js';
import { productInBf16 } from './precision.js';

/**
 * One whole decoder block as one tfjs kernel on a host backend (wasm or cpu), computed by the
 * addon (cc/decoder_block.cc) in place on the backend's memory: forward in one call, backward in
 * one call plus one small call per weight whose gradient the tape asks for. The op-by-op block is
 * ~40 kernels forward and ~90 backward, and at the sizes e3 trains on a CPU their dispatch
 * overhead, not arithmetic, was most of a step (bench/results/throughput.md). Gradients through a
 * KV cache are not supported (nothing needs them): with a cache the kernel runs forward only.
 */
const FORWARD = 'E3DecoderBlock';
const BACKWARD = 'E3DecoderBlockGrad';
const WEIGHT_GRADIENT = 'E3DecoderBlockWeightGrad';
const WORKSPACE = 'E3Workspace';

/** The block's parameters as kernel inputs, by the names the addon reads (HF layout, [out, in]). */
export const BLOCK_WEIGHTS = [
  'inputNorm',
  'q',
  'k',
  'v',
  'qBias',
  'kBias',
  'vBias',
  'qNorm',
  'kNorm',
  'o',
  'oBias',
  'postAttentionNorm',
  'gate',
  'up',
  'down',
  'gateBias',
  'upBias',
  'downBias',
] as const;
export type BlockWeightName = (typeof BLOCK_WEIGHTS)[number];

/**
 * Inputs the gradient needs, in this order; an absent optional weight is an empty tensor.
 * `workspace` receives the activations the backward pass reuses: it is an input the kernel
 * fills rather than an output, because tfjs materialises a zero gradient for every output that
 * does not reach the loss — megabytes per block per step for an activation store.
 */
const SAVED_INPUTS: readonly string[] = [...BLOCK_WEIGHTS, 'x', 'blockGate', 'cos', 'sin', 'attn', 'workspace'];

/**
 * The kernel's inputs as the addon reads them: float32 tensors as Float32Arrays, and projection
 * weights kept in bf16 (int32 tensors of packed pairs marked by packed-bf16.ts) as
 * Uint16Arrays of their bf16 values.
 */
function blockViews(
  heap: HostHeap,
  inputs: Record<string, tf.TensorInfo>,
  addon: NativeAddon,
  dims: BlockDims,
): Record<string, Float32Array | Uint16Array> {
  const out: Record<string, Float32Array | Uint16Array> = views(heap, inputs);
  for (const [name, t] of Object.entries(inputs)) {
    if (!isPackedBf16(t)) continue;
    const packed = heap.typedArrayFromHeap(t);
    out[name] = new Uint16Array(packed.buffer, packed.byteOffset, packed.length * 2);
  }
  // f32 projection weights that bf16 products read get their bf16 copy beside them (`<name>Bf16`);
  // the block's largest projection decides, as in the addon (Dims::largestProduct).
  const d = dims;
  if (productInBf16(d.B * d.T * d.D * Math.max(d.F, d.H * d.hd))) {
    for (const name of PROJECTIONS) {
      const t = inputs[name];
      if (t?.dtype === 'float32' && out[name]?.length)
        out[`${name}Bf16`] = bf16CopyOf(addon, t.dataId, out[name] as Float32Array);
    }
  }
  return out;
}

/** The block's projection weights: the operands of its bf16 products. */
const PROJECTIONS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;

interface ForwardAttrs {
  dims: BlockDims;
  save: boolean;
  cache: boolean;
}

function forwardKernel(addon: NativeAddon) {
  return ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const heap = hostHeap(backend);
    const a = fromAttrs<ForwardAttrs>(attrs);
    const d = a.dims;
    const outs = [heap.makeOutput([d.B * d.T, d.D], 'float32')];
    const kv = [d.B, d.KV, d.P + d.T, d.hd];
    if (a.cache) outs.push(heap.makeOutput(kv, 'float32'), heap.makeOutput(kv, 'float32'));
    // Views only after every allocation: makeOutput may grow (and so move) the wasm heap.
    const [y, newK, newV] = outs.map((t) => heap.typedArrayFromHeap(t) as Float32Array);
    const { workspace, ...tensors } = blockViews(heap, inputs, addon, d);
    // An empty workspace: checkpointed, the gradient recomputes the activations (see `gradient`).
    const saved = workspace?.length ? (workspace as Float32Array) : undefined;
    addon.decoderBlockForward(d, tensors, { y, saved, newK, newV });
    return outs;
  };
}

function backwardKernel(addon: NativeAddon) {
  return ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] => {
    const heap = hostHeap(backend);
    const d = (attrs as { dims: BlockDims }).dims;
    const outs = [
      heap.makeOutput([d.B * d.T, d.D], 'float32'),
      heap.makeOutput(inputs.blockGate.shape, 'float32'),
      heap.makeOutput([addon.decoderBlockSizes(d).upstream], 'float32'),
    ];
    const [dx, dgate, upstream] = outs.map((t) => heap.typedArrayFromHeap(t) as Float32Array);
    addon.decoderBlockBackward(d, blockViews(heap, inputs, addon, d), { dx, dgate, upstream });
    return outs;
  };
}

function workspaceKernel({ backend, attrs }: KernelArgs): tf.TensorInfo {
  return hostHeap(backend).makeOutput([Number(attrs?.size)], 'float32');
}

function weightGradientKernel(addon: NativeAddon) {
  return ({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo => {
    const heap = hostHeap(backend);
    const a = attrs as { dims: BlockDims; name: string; shape: number[] };
    const out = heap.makeOutput(a.shape, 'float32');
    const view = heap.typedArrayFromHeap(out) as Float32Array;
    addon.decoderBlockWeightGradient(a.dims, views(heap, inputs), a.name, view);
    return out;
  };
}

/**
 * What the block whose gradient ran last still holds (its `upstream`, its workspace): the tape
 * calls every gradient closure of a block before it moves to the block before it, so these are
 * freed when the next block's gradient starts, not when the whole backward pass ends (they were
 * L × (workspace + upstream) at the end of the pass).
 */
let heldByLastGradient: tf.Tensor[] = [];

/** The workspace of a checkpointed block (made empty in the forward pass): its forward pass again, saving. */
function recomputeWorkspace(addon: NativeAddon, tensors: Record<string, tf.Tensor>, dims: BlockDims): tf.Tensor {
  const size = asAttrs({ size: addon.decoderBlockSizes(dims).saved });
  const workspace = tf.engine().runKernel(WORKSPACE, {}, size) as tf.Tensor;
  const attrs: ForwardAttrs = { dims, save: true, cache: false };
  const inputs = { ...tensors, workspace } as tf.NamedTensorMap;
  const [y] = tf.engine().runKernel(FORWARD, inputs, asAttrs(attrs)) as tf.Tensor[];
  y.dispose();
  return workspace;
}

/**
 * Gradient of the block. dx and dgate (always needed: the residual stream and the mask carry
 * the gradient to earlier blocks) come from one backward call, which also leaves the gradient
 * flowing into every weighted operation in `upstream`; each weight's gradient is then one small
 * call made only if the tape asks for it, so the mask search (frozen weights) does none. A
 * checkpointed block (empty workspace) first runs its forward pass again to fill one.
 */
function gradient(
  addon: NativeAddon,
  dy: tf.Tensor | tf.Tensor[],
  saved: tf.Tensor[],
  attrs: tf.NamedAttrMap,
): Record<string, () => tf.Tensor> {
  const a = fromAttrs<ForwardAttrs>(attrs);
  const tensors: Record<string, tf.Tensor> = {};
  SAVED_INPUTS.forEach((name, i) => {
    tensors[name] = saved[i];
  });
  tf.dispose(heldByLastGradient);
  const savedBuffer = tensors.workspace.size > 0 ? tensors.workspace : recomputeWorkspace(addon, tensors, a.dims);
  const dyOut = (Array.isArray(dy) ? dy[0] : dy) ?? tf.zeros([a.dims.B * a.dims.T, a.dims.D]);
  const dims = asAttrs({ dims: a.dims });
  const [dx, dgate, upstream] = tf
    .engine()
    .runKernel(BACKWARD, { ...tensors, saved: savedBuffer, dy: dyOut }, dims) as tf.Tensor[];
  heldByLastGradient = [upstream, savedBuffer];
  const grads: Record<string, () => tf.Tensor> = { x: () => dx, blockGate: () => dgate };
  for (const name of ['cos', 'sin', 'attn', 'workspace']) grads[name] = () => tf.zerosLike(tensors[name]);
  for (const name of BLOCK_WEIGHTS) {
    const attrs = asAttrs({ dims: a.dims, name, shape: tensors[name].shape });
    grads[name] =
      tensors[name].size === 0
        ? () => tf.zerosLike(tensors[name])
        : () =>
            tf.engine().runKernel(WEIGHT_GRADIENT, { x: tensors.x, saved: savedBuffer, upstream }, attrs) as tf.Tensor;
  }
  return grads;
}

const registeredOn = new Set<string>();

/** Registers the fused block's kernels on backend `backendName` (once). */
export function registerDecoderBlockKernels(addon: NativeAddon, backendName: string): void {
  if (registeredOn.has(backendName)) return;
  const kernels: [string, (args: KernelArgs) => unknown][] = [
    [FORWARD, forwardKernel(addon)],
    [BACKWARD, backwardKernel(addon)],
    [WORKSPACE, workspaceKernel],
    [WEIGHT_GRADIENT, weightGradientKernel(addon)],
  ];
  for (const [kernelName, fn] of kernels) {
    if (!tf.getKernel(kernelName, backendName))
      tf.registerKernel({ kernelName, backendName, kernelFunc: fn as unknown as tf.KernelFunc });
  }
  if (!tf.getGradient(FORWARD))
    tf.registerGradient({
      kernelName: FORWARD,
      inputsToSave: [...SAVED_INPUTS],
      gradFunc: ((dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) =>
        gradient(addon, dy, saved, attrs)) as unknown as tf.GradFunc,
    });
  registeredOn.add(backendName);
}

/** Whether the fused block kernels are registered for backend `backendName`. */
export function decoderBlockKernelsOn(backendName: string): boolean {
  return registeredOn.has(backendName);
}

/** Whether the current computation is being recorded for gradients. */
export function tapeIsRecording(): boolean {
  const state = (tf.engine() as unknown as { state: { gradientDepth: number; kernelDepth: number } }).state;
  return state.gradientDepth > 0 && state.kernelDepth === 0;
}

export interface DecoderBlockCall {
  /** Every name of BLOCK_WEIGHTS; an absent optional weight is an empty tensor. */
  weights: Record<BlockWeightName, tf.Tensor>;
  x: tf.Tensor2D;
  blockGate: tf.Tensor;
  cos: tf.Tensor2D;
  sin: tf.Tensor2D;
  attn: tf.Tensor2D;
  past?: { k: tf.Tensor4D; v: tf.Tensor4D };
  keepCache: boolean;
  dims: BlockDims;
  /**
   * Gradient checkpointing: under the tape keep no activations (only the inputs the tape holds
   * anyway); the gradient runs the block's forward pass again to get them.
   */
  recompute?: boolean;
}

/** Runs one fused block; the activations for its gradient are kept when the tape records. */
export function runDecoderBlock(
  addon: NativeAddon,
  call: DecoderBlockCall,
): { y: tf.Tensor2D; cache?: { k: tf.Tensor4D; v: tf.Tensor4D } } {
  const tensors: Record<string, tf.Tensor> = {
    ...call.weights,
    x: call.x,
    blockGate: call.blockGate,
    cos: call.cos,
    sin: call.sin,
    attn: call.attn,
  };
  if (call.past) Object.assign(tensors, { pastK: call.past.k, pastV: call.past.v });
  const save = tapeIsRecording();
  if (save && call.past) throw new Error('fused decoder block: gradients through a KV cache are not supported');
  if (save) {
    const size = asAttrs({ size: call.recompute ? 0 : addon.decoderBlockSizes(call.dims).saved });
    tensors.workspace = tf.engine().runKernel(WORKSPACE, {}, size) as tf.Tensor;
  }
  const attrs: ForwardAttrs = { dims: call.dims, save, cache: call.keepCache || Boolean(call.past) };
  const outs = tf.engine().runKernel(FORWARD, tensors as tf.NamedTensorMap, asAttrs(attrs)) as tf.Tensor[];
  return {
    y: outs[0] as tf.Tensor2D,
    cache: attrs.cache ? { k: outs[1] as tf.Tensor4D, v: outs[2] as tf.Tensor4D } : undefined,
  };
}
