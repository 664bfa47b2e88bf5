import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@e3/core';
import { randomModel, type ModelHandle } from '@e3/plugins';

/**
 * Small random models of the three architectures, each with what its llama.cpp layout must get
 * right: Llama with GQA, q/k/v/o and MLP biases and Llama 3 rope scaling (all three rope bands
 * used: wavelengths 6, 63, 628 and 6283 against 16 and 64); Qwen2 with its q/k/v biases and an
 * untied head. Biases are random (the init's zeros would hide a wrong bias layout).
 */
export async function ggufTestModel(type: 'llama' | 'qwen2', seed = 5): Promise<ModelHandle> {
  const rng = new Rng(seed);
  const config: Record<string, unknown> = {
    model_type: type,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 8,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    max_position_embeddings: 64,
    tie_word_embeddings: false,
    ...(type === 'llama'
      ? {
          attention_bias: true,
          mlp_bias: true,
          rope_scaling: {
            rope_type: 'llama3',
            factor: 8,
            low_freq_factor: 1,
            high_freq_factor: 4,
            original_max_position_embeddings: 64,
          },
        }
      : {}),
  };
  return randomModel({
    config,
    rng,
    std: 0.3,
    where: `gguf test ${type}`,
    edit: (named) => {
      for (const [name, t] of named)
        if (name.endsWith('.bias')) {
          named.set(
            name,
            tf.tensor(
              Float32Array.from({ length: t.size }, () => 0.3 * rng.normal()),
              t.shape,
            ),
          );
          t.dispose();
        }
    },
  });
}

/** A one-block Qwen3 (d = 16; `config` may change the architecture too) with a char tokenizer of `chars`. */
export async function oneBlockModel(
  o: { chars?: string; config?: Record<string, unknown> } = {},
): Promise<ModelHandle> {
  return randomModel({
    config: {
      model_type: 'qwen3',
      hidden_size: 16,
      intermediate_size: 32,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      head_dim: 8,
      max_position_embeddings: 256,
      tie_word_embeddings: true,
      ...o.config,
    },
    rng: new Rng(2),
    std: 0.1,
    chars: o.chars,
  });
}
