import type * as tf from '@tensorflow/tfjs-core';
import { isPackedBf16 } from '@e3/native';
import { UserError } from '@e3/core';
import type { DecoderConfig } from '../model/config.js';
import type { ModelHandle } from '../model/handle.js';
import { unpackBf16Values } from '../model/bf16-weights.js';
import { f32, str, u32, type GgmlType, type GgufTensor, type GgufValue } from './gguf-file.js';
import { encodeValues } from './gguf-encode.js';

/** Storage types an export can take. */
export const GGUF_DTYPES = ['F32', 'F16', 'BF16', 'Q8_0'] as const;
export type GgufDtype = (typeof GGUF_DTYPES)[number];

/** general.file_type (llama_ftype) of each storage type. */
const FILE_TYPE: Record<GgufDtype, number> = { F32: 0, F16: 1, Q8_0: 7, BF16: 32 };

/** Hugging Face layer tensor suffix → llama.cpp's name within `blk.N.`. */
const LAYER_NAMES: Record<string, string> = {
  'input_layernorm.weight': 'attn_norm.weight',
  'post_attention_layernorm.weight': 'ffn_norm.weight',
  'self_attn.q_proj.weight': 'attn_q.weight',
  'self_attn.k_proj.weight': 'attn_k.weight',
  'self_attn.v_proj.weight': 'attn_v.weight',
  'self_attn.o_proj.weight': 'attn_output.weight',
  'self_attn.q_proj.bias': 'attn_q.bias',
  'self_attn.k_proj.bias': 'attn_k.bias',
  'self_attn.v_proj.bias': 'attn_v.bias',
  'self_attn.o_proj.bias': 'attn_output.bias',
  'self_attn.q_norm.weight': 'attn_q_norm.weight',
  'self_attn.k_norm.weight': 'attn_k_norm.weight',
  'mlp.gate_proj.weight': 'ffn_gate.weight',
  'mlp.up_proj.weight': 'ffn_up.weight',
  'mlp.down_proj.weight': 'ffn_down.weight',
  'mlp.gate_proj.bias': 'ffn_gate.bias',
  'mlp.up_proj.bias': 'ffn_up.bias',
  'mlp.down_proj.bias': 'ffn_down.bias',
};

const TOP_NAMES: Record<string, string> = {
  'model.embed_tokens.weight': 'token_embd.weight',
  'model.norm.weight': 'output_norm.weight',
  'lm_head.weight': 'output.weight',
};

/** llama.cpp's name of a Hugging Face tensor name. */
export function ggufTensorName(hfName: string): string {
  const layer = /^model\.layers\.(\d+)\.(.+)$/.exec(hfName);
  const name = layer ? LAYER_NAMES[layer[2]] && `blk.${layer[1]}.${LAYER_NAMES[layer[2]]}` : TOP_NAMES[hfName];
  if (!name) throw new Error(`no GGUF name for tensor ${hfName}`);
  return name;
}

/**
 * Rows of a Llama q/k projection (or bias) reordered from Hugging Face's rotate-half rope
 * (pairs i, i + D/2 within each head) to llama.cpp's interleaved rope (pairs 2i, 2i + 1):
 * row h·D + 2j + s takes row h·D + s·D/2 + j. `heads` is the number of heads the rows cover.
 */
export function interleaveRopeRows(values: Float32Array, rows: number, heads: number): Float32Array {
  const cols = values.length / rows;
  const d = rows / heads;
  const out = new Float32Array(values.length);
  for (let h = 0; h < heads; h++)
    for (let j = 0; j < d / 2; j++)
      for (let s = 0; s < 2; s++) {
        const from = (h * d + s * (d / 2) + j) * cols;
        out.set(values.subarray(from, from + cols), (h * d + 2 * j + s) * cols);
      }
  return out;
}

/**
 * Llama 3 rope scaling as llama.cpp takes it: a `rope_freqs.weight` tensor of D/2 factors by
 * which each rotary frequency θ_i = base^(−2i/D) is divided (1 for short wavelengths, `factor`
 * for long ones, interpolated between; transformers' `_compute_llama3_parameters`).
 */
export function llama3RopeFactors(c: DecoderConfig): Float32Array {
  const s = c.ropeScaling!;
  const out = new Float32Array(c.headDim / 2);
  const low = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const high = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  for (let i = 0; i < out.length; i++) {
    const wavelen = 2 * Math.PI * Math.pow(c.ropeTheta, (2 * i) / c.headDim);
    if (wavelen < high) out[i] = 1;
    else if (wavelen > low) out[i] = s.factor;
    else {
      const smooth =
        (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      out[i] = 1 / ((1 - smooth) / s.factor + smooth);
    }
  }
  return out;
}

/** What llama.cpp cannot run of a config, as a message, or undefined. */
function unsupported(c: DecoderConfig): string | undefined {
  if (c.modelType === 'qwen3' && (c.qkvBias || c.oBias))
    return "attention_bias is true, but llama.cpp's qwen3 architecture has no attention biases";
  if (c.modelType === 'qwen2' && c.oBias) return "llama.cpp's qwen2 architecture has no o_proj bias";
  return undefined;
}

/** The architecture metadata llama.cpp reads (`<arch>.*`), for the model as it is now (K layers). */
export function architectureMetadata(h: ModelHandle, dtype: GgufDtype): [string, GgufValue][] {
  const c = h.model.config;
  const problem = unsupported(c);
  if (problem) throw new UserError(`GGUF export: ${problem}`);
  const a = c.modelType;
  const name = typeof h.model.source.rawConfig._name_or_path === 'string' ? h.model.source.rawConfig._name_or_path : a;
  return [
    ['general.architecture', str(a)],
    ['general.name', str(`${name} (${c.numLayers} of ${h.model.source.originalLayers} layers, e3-pruner)`)],
    ['general.file_type', u32(FILE_TYPE[dtype])],
    ...(dtype === 'Q8_0' ? ([['general.quantization_version', u32(2)]] as [string, GgufValue][]) : []),
    [`${a}.block_count`, u32(c.numLayers)],
    [`${a}.context_length`, u32(c.maxPositionEmbeddings)],
    [`${a}.embedding_length`, u32(c.hiddenSize)],
    [`${a}.feed_forward_length`, u32(c.intermediateSize)],
    [`${a}.attention.head_count`, u32(c.numHeads)],
    [`${a}.attention.head_count_kv`, u32(c.numKvHeads)],
    [`${a}.attention.key_length`, u32(c.headDim)],
    [`${a}.attention.value_length`, u32(c.headDim)],
    [`${a}.attention.layer_norm_rms_epsilon`, f32(c.rmsNormEps)],
    [`${a}.rope.freq_base`, f32(c.ropeTheta)],
    [`${a}.rope.dimension_count`, u32(c.headDim)],
    [`${a}.vocab_size`, u32(c.vocabSize)],
  ];
}

/** Float32 values of a weight (frozen bf16 weights are unpacked to the values they stand for). */
async function valuesOf(t: tf.Tensor): Promise<Float32Array> {
  return isPackedBf16(t) ? unpackBf16Values(t) : ((await t.data()) as Float32Array);
}

/**
 * The model's tensors under llama.cpp's names, in file order: 1-D tensors (norms, biases) stay
 * F32 as llama.cpp's converter keeps them; matrices take `dtype` (Q8_0 falls back to F16 for a
 * row length that is not a multiple of 32, as the converter does). Llama's q/k rows are
 * reordered for llama.cpp's rope ({@link interleaveRopeRows}); Qwen2/Qwen3 use the same rope as
 * Hugging Face (NeoX style) and are written as they are.
 */
export function ggufTensors(h: ModelHandle, dtype: GgufDtype, signal?: () => Promise<void>): GgufTensor[] {
  const c = h.model.config;
  const out: GgufTensor[] = [];
  if (c.ropeScaling) {
    const factors = llama3RopeFactors(c);
    out.push({
      name: 'rope_freqs.weight',
      shape: [factors.length],
      type: 'F32',
      bytes: async () => encodeValues(factors, 'F32'),
    });
  }
  for (const [hfName, t] of h.model.named()) {
    const shape = isPackedBf16(t) ? [t.shape[0], 2 * t.shape[1]!] : [...t.shape];
    const type: GgmlType = shape.length === 1 ? 'F32' : dtype === 'Q8_0' && shape[1] % 32 ? 'F16' : dtype;
    const permute =
      c.modelType === 'llama' && /self_attn\.(q|k)_proj\./.test(hfName)
        ? /q_proj/.test(hfName)
          ? c.numHeads
          : c.numKvHeads
        : 0;
    out.push({
      name: ggufTensorName(hfName),
      shape,
      type,
      bytes: async () => {
        await signal?.();
        const v = await valuesOf(t);
        return encodeValues(permute ? interleaveRopeRows(v, shape[0], permute) : v, type);
      },
    });
  }
  return out;
}
