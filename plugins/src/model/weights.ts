import * as tf from '@tensorflow/tfjs-core';
import { isPackedBf16 } from '@e3/native';
import type { DecoderConfig } from './config.js';

/** One decoder block's parameters (HF layout: projection weights are [out, in]). */
export interface LayerWeights {
  inputNorm: tf.Variable;
  postAttentionNorm: tf.Variable;
  q: tf.Variable;
  k: tf.Variable;
  v: tf.Variable;
  o: tf.Variable;
  qBias?: tf.Variable;
  kBias?: tf.Variable;
  vBias?: tf.Variable;
  oBias?: tf.Variable;
  qNorm?: tf.Variable;
  kNorm?: tf.Variable;
  gate: tf.Variable;
  up: tf.Variable;
  down: tf.Variable;
  gateBias?: tf.Variable;
  upBias?: tf.Variable;
  downBias?: tf.Variable;
}

export interface ModelWeights {
  embed: tf.Variable;
  layers: LayerWeights[];
  norm: tf.Variable;
  /** Absent when tied to `embed`. */
  lmHead?: tf.Variable;
}

const LAYER_NAMES: Record<keyof LayerWeights, string> = {
  inputNorm: 'input_layernorm.weight',
  postAttentionNorm: 'post_attention_layernorm.weight',
  q: 'self_attn.q_proj.weight',
  k: 'self_attn.k_proj.weight',
  v: 'self_attn.v_proj.weight',
  o: 'self_attn.o_proj.weight',
  qBias: 'self_attn.q_proj.bias',
  kBias: 'self_attn.k_proj.bias',
  vBias: 'self_attn.v_proj.bias',
  oBias: 'self_attn.o_proj.bias',
  qNorm: 'self_attn.q_norm.weight',
  kNorm: 'self_attn.k_norm.weight',
  gate: 'mlp.gate_proj.weight',
  up: 'mlp.up_proj.weight',
  down: 'mlp.down_proj.weight',
  gateBias: 'mlp.gate_proj.bias',
  upBias: 'mlp.up_proj.bias',
  downBias: 'mlp.down_proj.bias',
};

/** Builds weights from HF-named tensors (which it takes ownership of, as variables). */
export function weightsFromNamed(c: DecoderConfig, named: Map<string, tf.Tensor>): ModelWeights {
  const v = (name: string): tf.Variable => {
    const t = named.get(name)!;
    // Packed bf16 weights (a frozen model, bf16-weights.ts) are not trainable.
    const variable = tf.variable(t, !isPackedBf16(t));
    t.dispose();
    return variable;
  };
  const opt = (name: string) => (named.has(name) ? v(name) : undefined);
  const layers: LayerWeights[] = [];
  for (let i = 0; i < c.numLayers; i++) {
    const layer = {} as LayerWeights;
    for (const [key, suffix] of Object.entries(LAYER_NAMES) as [keyof LayerWeights, string][]) {
      const w = opt(`model.layers.${i}.${suffix}`);
      if (w) layer[key] = w;
    }
    layers.push(layer);
  }
  return {
    embed: v('model.embed_tokens.weight'),
    layers,
    norm: v('model.norm.weight'),
    lmHead: c.tieWordEmbeddings ? undefined : v('lm_head.weight'),
  };
}

/** HF names → variables, layers numbered by their position in `weights.layers`. */
export function namedWeights(w: ModelWeights): Map<string, tf.Variable> {
  const m = new Map<string, tf.Variable>();
  m.set('model.embed_tokens.weight', w.embed);
  w.layers.forEach((layer, i) => {
    for (const [key, suffix] of Object.entries(LAYER_NAMES) as [keyof LayerWeights, string][]) {
      const t = layer[key];
      if (t) m.set(`model.layers.${i}.${suffix}`, t);
    }
  });
  m.set('model.norm.weight', w.norm);
  if (w.lmHead) m.set('lm_head.weight', w.lmHead);
  return m;
}
