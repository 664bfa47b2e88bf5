import { UserError } from '@e3/core';

export const MODEL_TYPES = ['llama', 'qwen2', 'qwen3'] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

/** Llama 3 rope scaling (`rope_scaling.rope_type: llama3`). */
export interface Llama3RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

/** What the decoder needs from a Hugging Face `config.json`, normalised across families. */
export interface DecoderConfig {
  readonly modelType: ModelType;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly ropeScaling?: Llama3RopeScaling;
  readonly tieWordEmbeddings: boolean;
  /** Bias on q/k/v projections (Qwen2 always; Llama/Qwen3 when `attention_bias`). */
  readonly qkvBias: boolean;
  /** Bias on o_proj (Llama/Qwen3 when `attention_bias`; never Qwen2). */
  readonly oBias: boolean;
  readonly mlpBias: boolean;
  /** Per-head RMSNorm on q and k before rope (Qwen3). */
  readonly qkNorm: boolean;
  readonly maxPositionEmbeddings: number;
}

/** Reads and checks a config.json object; every problem names the key and the file. */
export function parseDecoderConfig(raw: Record<string, unknown>, file: string): DecoderConfig {
  const bad = (key: string, msg: string): never => {
    throw new UserError(`${file}: "${key}" ${msg}`);
  };
  const type = raw.model_type;
  if (typeof type !== 'string') bad('model_type', 'is missing; expected one of llama, qwen2, qwen3');
  if (!(MODEL_TYPES as readonly string[]).includes(type as string))
    bad('model_type', `is "${String(type)}", which is not supported (supported: ${MODEL_TYPES.join(', ')})`);
  const int = (key: string, fallback?: number): number => {
    const v = raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
      bad(key, `must be a positive integer (got ${JSON.stringify(raw[key])})`);
    return v as number;
  };
  const num = (key: string, fallback: number): number => {
    const v = raw[key] ?? fallback;
    if (typeof v !== 'number' || !(v > 0)) bad(key, `must be a positive number (got ${JSON.stringify(raw[key])})`);
    return v as number;
  };
  const hiddenSize = int('hidden_size');
  const numHeads = int('num_attention_heads');
  const numKvHeads = int('num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0)
    bad('num_key_value_heads', `(${numKvHeads}) must divide num_attention_heads (${numHeads})`);
  const headDim = raw.head_dim == null ? hiddenSize / numHeads : int('head_dim');
  if (!Number.isInteger(headDim))
    bad('hidden_size', `(${hiddenSize}) is not divisible by num_attention_heads (${numHeads}); set head_dim`);
  const modelType = type as ModelType;
  const attentionBias = raw.attention_bias === true;
  return {
    modelType,
    vocabSize: int('vocab_size'),
    hiddenSize,
    intermediateSize: int('intermediate_size'),
    numLayers: int('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: num('rms_norm_eps', 1e-6),
    ropeTheta: num('rope_theta', 10000),
    ropeScaling: parseRopeScaling(raw.rope_scaling, file),
    tieWordEmbeddings: raw.tie_word_embeddings === true,
    qkvBias: modelType === 'qwen2' ? true : attentionBias,
    oBias: modelType === 'qwen2' ? false : attentionBias,
    mlpBias: modelType === 'llama' && raw.mlp_bias === true,
    qkNorm: modelType === 'qwen3',
    maxPositionEmbeddings: int('max_position_embeddings', 2048),
  };
}

function parseRopeScaling(raw: unknown, file: string): Llama3RopeScaling | undefined {
  if (raw == null) return undefined;
  const r = raw as Record<string, unknown>;
  const kind = r.rope_type ?? r.type;
  if (kind === 'default') return undefined;
  if (kind !== 'llama3')
    throw new UserError(`${file}: "rope_scaling.rope_type" is ${JSON.stringify(kind)}; supported: default, llama3`);
  const n = (k: string): number => {
    if (typeof r[k] !== 'number')
      throw new UserError(`${file}: "rope_scaling.${k}" must be a number for llama3 rope scaling`);
    return r[k] as number;
  };
  return {
    factor: n('factor'),
    lowFreqFactor: n('low_freq_factor'),
    highFreqFactor: n('high_freq_factor'),
    originalMaxPositionEmbeddings: n('original_max_position_embeddings'),
  };
}

/** Names and shapes every checkpoint of this config must hold (tied models may omit lm_head). */
export function expectedTensors(c: DecoderConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const d = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  m.set('model.embed_tokens.weight', [c.vocabSize, d]);
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}.`;
    m.set(p + 'input_layernorm.weight', [d]);
    m.set(p + 'post_attention_layernorm.weight', [d]);
    m.set(p + 'self_attn.q_proj.weight', [q, d]);
    m.set(p + 'self_attn.k_proj.weight', [kv, d]);
    m.set(p + 'self_attn.v_proj.weight', [kv, d]);
    m.set(p + 'self_attn.o_proj.weight', [d, q]);
    if (c.qkvBias) {
      m.set(p + 'self_attn.q_proj.bias', [q]);
      m.set(p + 'self_attn.k_proj.bias', [kv]);
      m.set(p + 'self_attn.v_proj.bias', [kv]);
    }
    if (c.oBias) m.set(p + 'self_attn.o_proj.bias', [d]);
    if (c.qkNorm) {
      m.set(p + 'self_attn.q_norm.weight', [c.headDim]);
      m.set(p + 'self_attn.k_norm.weight', [c.headDim]);
    }
    m.set(p + 'mlp.gate_proj.weight', [c.intermediateSize, d]);
    m.set(p + 'mlp.up_proj.weight', [c.intermediateSize, d]);
    m.set(p + 'mlp.down_proj.weight', [d, c.intermediateSize]);
    if (c.mlpBias) {
      m.set(p + 'mlp.gate_proj.bias', [c.intermediateSize]);
      m.set(p + 'mlp.up_proj.bias', [c.intermediateSize]);
      m.set(p + 'mlp.down_proj.bias', [d]);
    }
  }
  m.set('model.norm.weight', [d]);
  if (!c.tieWordEmbeddings) m.set('lm_head.weight', [c.vocabSize, d]);
  return m;
}
