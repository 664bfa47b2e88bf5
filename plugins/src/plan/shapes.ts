import type { DecoderConfig } from '../model/config.js';
import { expectedTensors } from '../model/config.js';
import { isProjectionName } from '../model/bf16-weights.js';

/**
 * Sizes, in f32 elements, that the memory plan derives from a model's config alone (no tensor,
 * no weight is read). Every formula mirrors the code that allocates: see each function.
 */

/** Bytes of one f32 (every weight is loaded as f32, whatever the checkpoint's dtype). */
export const F32 = 4;

/** A model as the plan sees it: its config, parameter count and largest tensor, and where it comes from. */
export interface ModelShape {
  readonly config: DecoderConfig;
  /** Parameters (tied embeddings counted once): expectedTensors of the config. */
  readonly parameters: number;
  /** Elements of the largest tensor (the embedding or lm_head): what per-tensor passes hold at once. */
  readonly largestTensor: number;
  /** How the plan learned it (a checkpoint directory, a node's config, a pruned copy of …). */
  readonly origin: string;
  /** Of `parameters`, those kept in bf16 (model.hfCheckpoint frozenDtype: bfloat16); the rest are f32. */
  readonly bf16Parameters?: number;
  /** The checkpoint directory whose tokenizer the model reads text with, when it has one. */
  readonly tokenizerDir?: string;
}

/**
 * The shape of a model of `config`, from the tensor list every checkpoint of it must hold;
 * `bf16`: its block projections kept in bf16 (model/bf16-weights.ts).
 */
export function modelShape(config: DecoderConfig, origin: string, bf16 = false): ModelShape {
  let parameters = 0;
  let largestTensor = 0;
  let bf16Parameters = 0;
  for (const [name, shape] of expectedTensors(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    parameters += n;
    largestTensor = Math.max(largestTensor, n);
    if (bf16 && isProjectionName(name)) bf16Parameters += n;
  }
  return { config, parameters, largestTensor, origin, ...(bf16 ? { bf16Parameters } : {}) };
}

/** The same model with `layers` of its blocks kept (what model.prune makes). */
export function withLayers(m: ModelShape, layers: number, origin: string): ModelShape {
  const shape = modelShape({ ...m.config, numLayers: layers }, origin);
  return m.tokenizerDir ? { ...shape, tokenizerDir: m.tokenizerDir } : shape;
}

/** The fused block's dims for a batch of B sequences of T tokens (no KV cache). */
function dims(c: DecoderConfig, B: number, T: number) {
  const N = B * T;
  return {
    N,
    D: c.hiddenSize,
    F: c.intermediateSize,
    H: c.numHeads,
    Q: c.numHeads * c.headDim,
    K: c.numKvHeads * c.headDim,
    KV: c.numKvHeads,
    S: T,
  };
}

/**
 * Floats of one block's saved activations: native/cc/decoder_block.cc `Saved::size` (the
 * workspace a fused block keeps for the backward pass; also its scratch in a forward pass
 * without gradients). N·D + N + N·Q + N·K + N·H + N·KV + N·Q + N·K + N·K + B·H·T·S + N·Q + N·D
 * + N·D + N + N·D + 3·N·F + N·D, with S = T (no cache). The B·H·T² attention probabilities
 * are the term that grows fastest with the sequence length.
 */
export function blockSavedFloats(c: DecoderConfig, B: number, T: number): number {
  const { N, D, F, H, Q, K, KV, S } = dims(c, B, T);
  return (
    N * D +
    N +
    N * Q +
    N * K +
    N * H +
    N * KV +
    N * Q +
    N * K +
    N * K +
    B * H * T * S +
    N * Q +
    N * D +
    N * D +
    N +
    N * D +
    3 * N * F +
    N * D
  );
}

/** Floats of the gradients a block's backward pass hands to its weight gradients: `Upstream::size`. */
export function blockUpstreamFloats(c: DecoderConfig, B: number, T: number): number {
  const { N, D, F, Q, K } = dims(c, B, T);
  return 4 * N * D + 2 * N * F + 2 * N * Q + 3 * N * K;
}

/** Floats of a KV cache for B sequences of S positions over `layers` blocks (generation). */
export function kvCacheFloats(c: DecoderConfig, layers: number, B: number, S: number): number {
  return 2 * layers * B * c.numKvHeads * S * c.headDim;
}
