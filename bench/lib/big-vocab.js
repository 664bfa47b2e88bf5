// The small model with Qwen3's vocabulary that the head benchmarks use (test/helpers/tiny-model.ts
// builds the same one for the suite).
import { Rng } from '@e3/core';
import { randomModel } from '@e3/plugins';

/** Qwen3-0.6B's vocabulary. */
export const QWEN_VOCAB = 151_936;

/** A random 2-layer, d = 64 Qwen3 model (tied embedding) with vocabulary `vocab` (seed 1, std 0.5). */
export function bigVocabModel(vocab = QWEN_VOCAB) {
  const config = {
    model_type: 'qwen3',
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 16,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    max_position_embeddings: 64,
    tie_word_embeddings: true,
    vocab_size: vocab,
  };
  return randomModel({ config, rng: new Rng(1), std: 0.5 });
}
