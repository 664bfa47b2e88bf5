import * as tf from '@tensorflow/tfjs-core';
import { BLOCK_WEIGHTS, fusedBlockAddon, runDecoderBlock, type BlockDims, type BlockWeightName } from '@e3/native';
import type { LayerWeights } from './weights.js';

export { tapeIsRecording } from '@e3/native';

/**
 * A decoder block as the native package's fused kernel (@e3/native, cc/decoder_block.cc): the
 * same equations as the op-by-op block in decoder.ts, operation for operation (parity tested to
 * 1e-4). Used on wasm and cpu when the addon is built and the graph's `backend:` has `fused`
 * on (the default; E3_FUSED=0 turns it off).
 */

let empty: tf.Tensor | undefined;

/** A shared empty tensor standing for an absent optional weight. */
function absent(): tf.Tensor {
  if (!empty || empty.isDisposed) empty = tf.keep(tf.zeros([0]));
  return empty;
}

/** Whether decoder blocks run fused on the current backend. */
export function fusedBlocksAvailable(): boolean {
  return fusedBlockAddon() !== undefined;
}

export interface FusedBlockInput {
  weights: LayerWeights;
  /** Residual stream [B·T, d]. */
  x: tf.Tensor2D;
  /** The block's gate m (1 = kept as is); a tensor when its gradient is wanted. */
  gate: number | tf.Tensor;
  /** Rotary tables [B·T, headDim]. */
  cos: tf.Tensor2D;
  sin: tf.Tensor2D;
  /** [B, past + T] float: 1 for real tokens, 0 for padding. */
  attn: tf.Tensor2D;
  past?: { k: tf.Tensor4D; v: tf.Tensor4D };
  /** Return this block's keys and values [B, KV, past + T, headDim] for a cache. */
  keepCache: boolean;
  dims: Omit<BlockDims, 'P'>;
  /** Gradient checkpointing (see ForwardOptions.recompute). */
  recompute?: boolean;
}

/** The block's output [B·T, d] (and its cache when asked), computed by the fused kernel. */
export function fusedBlock(input: FusedBlockInput): { y: tf.Tensor2D; cache?: { k: tf.Tensor4D; v: tf.Tensor4D } } {
  const addon = fusedBlockAddon();
  if (!addon) throw new Error('fused decoder block: the native kernels are off on this backend');
  const weights = {} as Record<BlockWeightName, tf.Tensor>;
  for (const name of BLOCK_WEIGHTS) weights[name] = input.weights[name] ?? absent();
  const blockGate = typeof input.gate === 'number' ? tf.scalar(input.gate) : input.gate;
  const dims: BlockDims = { ...input.dims, P: input.past?.k.shape[2] ?? 0 };
  return runDecoderBlock(addon, {
    weights,
    x: input.x,
    blockGate,
    cos: input.cos,
    sin: input.sin,
    attn: input.attn,
    past: input.past,
    keepCache: input.keepCache,
    dims,
    recompute: input.recompute,
  });
}
