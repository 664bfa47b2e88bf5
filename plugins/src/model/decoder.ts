import * as tf from '@tensorflow/tfjs-core';
import { isPackedBf16 } from '@e3/native';
import type { DecoderConfig } from './config.js';
import { fusedBlock, fusedBlocksAvailable, tapeIsRecording } from './fused-block.js';
import { applyRotary, inverseFrequencies, rotaryTables } from './rope.js';
import { namedWeights, type LayerWeights, type ModelWeights } from './weights.js';
import { hasBf16Weights } from './bf16-weights.js';
import { UserError } from '@e3/core';

/** Keys and values of one layer for all positions seen so far: [B, KV, S, D]. */
/** A block's keys and values so far (a type, not an interface, so that tf.tidy can return it). */
export type LayerCache = {
  k: tf.Tensor4D;
  v: tf.Tensor4D;
};

/**
 * A per-layer gate. Numbers: 0 skips the block outright (exactly equal to m = 0, and
 * cheaper); a tensor [L] multiplies each block's residual updates (the mask search's
 * straight-through mask).
 */
export type LayerMask = readonly number[] | tf.Tensor1D;

/** Options of {@link DecoderModel.forward} and {@link DecoderModel.forwardFinal}; all optional. */
export interface ForwardOptions {
  /** Gates the blocks ({@link LayerMask}): numbers 0/1 skip or keep each block, a tensor [L] scales them. */
  mask?: LayerMask;
  /** [B, S] with 1 for real tokens and 0 for padding, over cached + new positions. */
  attentionMask?: tf.Tensor2D;
  /** Per-layer caches from earlier steps (extended in place on return as `cache`). */
  cache?: (LayerCache | undefined)[];
  /** Also return the residual stream after the embedding and after every block. */
  outputHidden?: boolean;
  /** Return the updated caches (for generation). */
  useCache?: boolean;
  /**
   * Gradient checkpointing per block: under the tape, fused blocks keep no activations and run
   * their forward pass again in the backward pass (one block's activations live at a time).
   */
  recompute?: boolean;
}

/** What {@link DecoderModel.forwardFinal} returns: the trunk's output before the output head. */
export interface FinalResult {
  /** [B·T, d]: the last block's output after the final norm, one row per token (rows of b·T + t). */
  final: tf.Tensor2D;
  /** L + 1 tensors [B, T, d] (embedding output, then each block's output) when asked. */
  hidden?: tf.Tensor3D[];
  /** The per-layer key/value caches extended by this call (with `useCache`). */
  cache?: (LayerCache | undefined)[];
}

/** What {@link DecoderModel.forward} returns: logits, and the hidden states and caches when asked. */
export interface ForwardResult {
  /** [B, T, V] next-token logits for every position. */
  logits: tf.Tensor3D;
  /** L + 1 tensors [B, T, d] (embedding output, then each block's output) when asked. */
  hidden?: tf.Tensor3D[];
  /** The per-layer key/value caches extended by this call (with `useCache`). */
  cache?: (LayerCache | undefined)[];
}

/** Identifying facts that travel with a model (for export and reports). */
export interface ModelSource {
  /** Directory it was loaded from, if any. */
  dir?: string;
  /** The original config.json object (rewritten on export). */
  rawConfig: Record<string, unknown>;
  /** Layer indices of the original checkpoint kept in this model, in order. */
  keptLayers: number[];
  /** Number of layers of the original checkpoint. */
  originalLayers: number;
  /** Each pruning that led here, in order: the node and the original layers it removed (iterative pruning). */
  prunedBy?: { node: string; removed: number[] }[];
}

/**
 * A Llama / Qwen2 / Qwen3 decoder on TensorFlow.js, following the Hugging Face modelling
 * equations: pre-norm blocks with RMSNorm, rotary embeddings, grouped-query attention,
 * optional q/k/v bias (Qwen2) and per-head q/k RMSNorm (Qwen3), SwiGLU MLP, tied or
 * untied output embedding. Block ℓ is gated by m_ℓ: h += m_ℓ·Attn(norm(h)); h += m_ℓ·MLP(norm(h)).
 */
export class DecoderModel {
  private readonly invFreq: tf.Tensor1D;
  private disposed = false;

  /** Wraps loaded weights (model.* nodes build it; a plugin receives it inside a ModelHandle). */
  constructor(
    /** The architecture: sizes, heads, norms, rotary settings (config.json, parsed). */
    readonly config: DecoderConfig,
    /** The parameters as tensors, by block (`weights.layers[i]`); {@link named} gives them by HF name. */
    readonly weights: ModelWeights,
    /** Where it came from: its config.json and which original layers it keeps. */
    readonly source: ModelSource,
  ) {
    this.invFreq = tf.keep(tf.tensor1d(inverseFrequencies(config)));
  }

  /** Blocks in this model (after pruning: the kept ones). */
  get numLayers(): number {
    return this.weights.layers.length;
  }

  /**
   * Every parameter by its Hugging Face name (`model.embed_tokens.weight`,
   * `model.layers.3.self_attn.q_proj.weight`, `model.norm.weight`, `lm_head.weight` when untied),
   * with layers renumbered 0..K−1 after pruning ({@link ModelSource.keptLayers} maps them back).
   * The tensors are the model's own: do not dispose them.
   */
  named(): Map<string, tf.Variable> {
    return namedWeights(this.weights);
  }

  /** All parameters, for optimisers. */
  variables(): tf.Variable[] {
    return [...this.named().values()];
  }

  /** Number of parameters (scalars) of the model. */
  parameterCount(): number {
    return this.variables().reduce((n, v) => n + (isPackedBf16(v) ? 2 : 1) * v.size, 0);
  }

  /** The output embedding [V, d]: lm_head, or the input embedding when tied. */
  get headWeight(): tf.Tensor2D {
    return (this.weights.lmHead ?? this.weights.embed) as tf.Tensor2D;
  }

  /** Logits [N, V] of final-norm rows [N, d]. */
  head(final: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(final, this.headWeight, false, true);
  }

  /**
   * Logits [B, T, V] for token ids [B, T]. Call inside `tf.tidy` (or dispose the results).
   * For a large vocabulary use {@link forwardFinal} and the chunked head (chunked-head.ts).
   */
  forward(ids: tf.Tensor2D, options: ForwardOptions = {}): ForwardResult {
    const [b, t] = ids.shape;
    const { final, hidden, cache } = this.forwardFinal(ids, options);
    return { logits: tf.reshape(this.head(final), [b, t, this.config.vocabSize]) as tf.Tensor3D, hidden, cache };
  }

  /** Everything but the output head: final-norm rows [B·T, d] (see {@link FinalResult}). */
  forwardFinal(ids: tf.Tensor2D, options: ForwardOptions = {}): FinalResult {
    const c = this.config;
    const [b, t] = ids.shape;
    const past = options.cache?.find((x) => x)?.k.shape[2] ?? 0;
    const s = past + t;
    const attn = options.attentionMask ?? (tf.ones([b, s], 'float32') as tf.Tensor2D);
    const positions = options.attentionMask
      ? (tf.slice(tf.maximum(tf.sub(tf.cumsum(tf.cast(attn, 'int32'), 1), 1), 0), [0, past], [b, t]) as tf.Tensor2D)
      : (tf.add(tf.reshape(tf.range(past, s, 1, 'int32'), [1, t]), tf.zeros([b, 1], 'int32')) as tf.Tensor2D);
    const { cos, sin } = rotaryTables(positions, this.invFreq);
    const attnFloat = tf.cast(attn, 'float32') as tf.Tensor2D;
    // One native kernel per block where available (wasm + addon); not for gradients through a cache.
    const fused = fusedBlocksAvailable() && (past === 0 || !tapeIsRecording());
    if (!fused && hasBf16Weights(this.weights.layers))
      throw new UserError(
        'a model with frozen bf16 weights (frozenDtype: bfloat16) runs only on the fused native kernels ' +
          '(fix: backend cpu or wasm with the native addon built and fused on, or frozenDtype: float32)',
      );
    const bias = fused ? undefined : attentionBias(attnFloat, t, past);
    const rows = fused
      ? {
          cos: tf.reshape(cos, [b * t, c.headDim]) as tf.Tensor2D,
          sin: tf.reshape(sin, [b * t, c.headDim]) as tf.Tensor2D,
        }
      : undefined;
    const dims = blockDims(c, b, t);
    let h = tf.gather(this.weights.embed, tf.cast(ids, 'int32')) as tf.Tensor3D;
    const hidden: tf.Tensor3D[] | undefined = options.outputHidden ? [h] : undefined;
    const newCache: (LayerCache | undefined)[] = [];
    const mask = options.mask;
    for (let l = 0; l < this.weights.layers.length; l++) {
      const gate =
        mask === undefined
          ? 1
          : Array.isArray(mask)
            ? (mask as readonly number[])[l]
            : tf.slice(mask as tf.Tensor1D, [l], [1]);
      if (gate === 0) {
        newCache.push(options.cache?.[l]);
        hidden?.push(h);
        continue;
      }
      const layer = this.weights.layers[l];
      const x2 = tf.reshape(h, [b * t, c.hiddenSize]) as tf.Tensor2D;
      if (rows) {
        const out = fusedBlock({
          weights: layer,
          x: x2,
          gate,
          ...rows,
          attn: attnFloat,
          past: options.cache?.[l],
          keepCache: Boolean(options.useCache),
          dims,
          recompute: options.recompute,
        });
        newCache.push(out.cache);
        h = tf.reshape(out.y, [b, t, c.hiddenSize]);
        hidden?.push(h);
        continue;
      }
      const out = this.opByOpBlock(layer, x2, gate, { b, t, cos, sin, bias: bias! }, options.cache?.[l]);
      newCache.push(out.cache);
      h = tf.reshape(out.y, [b, t, c.hiddenSize]);
      hidden?.push(h);
    }
    const final = rmsNorm(tf.reshape(h, [b * t, c.hiddenSize]) as tf.Tensor2D, this.weights.norm, c.rmsNormEps);
    return { final, hidden, cache: options.useCache ? newCache : undefined };
  }

  /** One block op by op (no fused kernel): x + gate·attention, then + gate·MLP, on rows [B·T, d]. */
  private opByOpBlock(
    layer: LayerWeights,
    x2: tf.Tensor2D,
    gate: number | tf.Tensor,
    at: AttentionInputs,
    past: LayerCache | undefined,
  ): { y: tf.Tensor2D; cache: LayerCache } {
    const eps = this.config.rmsNormEps;
    const { out: a, cache } = this.attention(layer, rmsNorm(x2, layer.inputNorm, eps), at, past);
    let h2 = tf.add(x2, gate === 1 ? a : tf.mul(a, gate as tf.Tensor)) as tf.Tensor2D;
    const mlp = this.mlp(layer, rmsNorm(h2, layer.postAttentionNorm, eps));
    h2 = tf.add(h2, gate === 1 ? mlp : tf.mul(mlp, gate as tf.Tensor));
    return { y: h2, cache };
  }

  private attention(
    w: LayerWeights,
    x: tf.Tensor2D,
    at: AttentionInputs,
    past?: LayerCache,
  ): { out: tf.Tensor2D; cache: LayerCache } {
    const { b, t, cos, sin, bias } = at;
    const c = this.config;
    const hd = c.headDim;
    const kvh = c.numKvHeads;
    const group = c.numHeads / kvh;
    let q = tf.reshape(linear(x, w.q, w.qBias), [b, t, c.numHeads, hd]) as tf.Tensor4D;
    let k = tf.reshape(linear(x, w.k, w.kBias), [b, t, kvh, hd]) as tf.Tensor4D;
    const v = tf.reshape(linear(x, w.v, w.vBias), [b, t, kvh, hd]) as tf.Tensor4D;
    if (w.qNorm && w.kNorm) {
      q = tf.reshape(rmsNorm(tf.reshape(q, [-1, hd]) as tf.Tensor2D, w.qNorm, c.rmsNormEps), [
        b,
        t,
        c.numHeads,
        hd,
      ]) as tf.Tensor4D;
      k = tf.reshape(rmsNorm(tf.reshape(k, [-1, hd]) as tf.Tensor2D, w.kNorm, c.rmsNormEps), [
        b,
        t,
        kvh,
        hd,
      ]) as tf.Tensor4D;
    }
    q = applyRotary(q, cos, sin);
    k = applyRotary(k, cos, sin);
    // [B, KV, S, D] layout; the cache grows along S.
    let kt = tf.transpose(k, [0, 2, 1, 3]) as tf.Tensor4D;
    let vt = tf.transpose(v, [0, 2, 1, 3]) as tf.Tensor4D;
    if (past) {
      kt = tf.concat([past.k, kt], 2);
      vt = tf.concat([past.v, vt], 2);
    }
    const s = kt.shape[2];
    // Queries grouped per kv head: [B, KV, G·T, D], so GQA needs no copies of k and v.
    const qg = tf.reshape(tf.transpose(tf.reshape(q, [b, t, kvh, group, hd]), [0, 2, 3, 1, 4]), [
      b * kvh,
      group * t,
      hd,
    ]) as tf.Tensor3D;
    const scores = tf.mul(
      tf.matMul(qg, tf.reshape(kt, [b * kvh, s, hd]) as tf.Tensor3D, false, true),
      1 / Math.sqrt(hd),
    );
    const probs = tf.softmax(tf.add(tf.reshape(scores, [b, kvh, group, t, s]), bias), -1);
    const ctx = tf.matMul(
      tf.reshape(probs, [b * kvh, group * t, s]) as tf.Tensor3D,
      tf.reshape(vt, [b * kvh, s, hd]) as tf.Tensor3D,
    );
    const merged = tf.reshape(tf.transpose(tf.reshape(ctx, [b, kvh, group, t, hd]), [0, 3, 1, 2, 4]), [
      b * t,
      c.numHeads * hd,
    ]) as tf.Tensor2D;
    return { out: linear(merged, w.o, w.oBias), cache: { k: kt, v: vt } };
  }

  private mlp(w: LayerWeights, x: tf.Tensor2D): tf.Tensor2D {
    const g = linear(x, w.gate, w.gateBias);
    const u = linear(x, w.up, w.upBias);
    return linear(tf.mul(tf.mul(g, tf.sigmoid(g)), u) as tf.Tensor2D, w.down, w.downBias);
  }

  /** Frees the weights (ModelHandle.dispose calls it after the last holder); idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.invFreq.dispose();
    for (const v of this.variables()) v.dispose();
  }

  /** Whether {@link dispose} ran: its tensors are gone. */
  get isDisposed(): boolean {
    return this.disposed;
  }
}

/** What a block's attention reads besides its weights and input rows: sizes, rotary tables, the mask's bias. */
interface AttentionInputs {
  readonly b: number;
  readonly t: number;
  readonly cos: tf.Tensor4D;
  readonly sin: tf.Tensor4D;
  /** Additive bias [B, 1, 1, T, S] (attentionBias). */
  readonly bias: tf.Tensor;
}

/** The fused block kernel's sizes for a batch of `b` sequences of `t` new tokens. */
function blockDims(c: DecoderConfig, b: number, t: number) {
  return {
    B: b,
    T: t,
    D: c.hiddenSize,
    H: c.numHeads,
    KV: c.numKvHeads,
    hd: c.headDim,
    F: c.intermediateSize,
    eps: c.rmsNormEps,
  };
}

/** x·Wᵀ (+ b) with W in HF's [out, in] layout. */
export function linear(x: tf.Tensor2D, w: tf.Tensor, b?: tf.Tensor): tf.Tensor2D {
  const y = tf.matMul(x, w as tf.Tensor2D, false, true);
  return (b ? tf.add(y, b) : y) as tf.Tensor2D;
}

/** RMSNorm over the last axis: x / sqrt(mean(x²) + ε) · w. */
export function rmsNorm(x: tf.Tensor2D, w: tf.Tensor, eps: number): tf.Tensor2D {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w) as tf.Tensor2D;
}

/**
 * Additive attention bias [B, 1, 1, T, S]: 0 where query i (at absolute step past + i)
 * may attend key j (j ≤ past + i and key j is not padding), −1e9 elsewhere.
 */
function attentionBias(attn: tf.Tensor2D, t: number, past: number): tf.Tensor {
  const [b, s] = attn.shape;
  const qi = tf.reshape(tf.add(tf.range(0, t, 1, 'int32'), past), [t, 1]);
  const kj = tf.reshape(tf.range(0, s, 1, 'int32'), [1, s]);
  const causal = tf.cast(tf.lessEqual(kj, qi), 'float32');
  const allowed = tf.mul(tf.reshape(causal, [1, 1, 1, t, s]), tf.reshape(attn, [b, 1, 1, 1, s]));
  return tf.mul(tf.sub(1, allowed), -1e9);
}
