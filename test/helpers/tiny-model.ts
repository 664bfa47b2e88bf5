import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@e3/core';
import { exportCheckpoint, randomModel, type ModelHandle } from '@e3/plugins';

import { tempDir } from './files.js';

/**
 * A small random Qwen3 model with the arithmetic character tokenizer. Blocks listed in
 * `identity` have zero o_proj and down_proj, so they add nothing: exact identities that
 * every layer-importance method must find.
 */
export async function tinyModel(
  opts: { layers?: number; identity?: number[]; seed?: number; std?: number } = {},
): Promise<ModelHandle> {
  const config = {
    model_type: 'qwen3',
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: opts.layers ?? 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 8,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    max_position_embeddings: 64,
    tie_word_embeddings: true,
    vocab_size: 18,
    pad_token_id: 0,
    eos_token_id: 1,
  };
  return randomModel({
    config,
    rng: new Rng(opts.seed ?? 3),
    std: opts.std ?? 0.3,
    where: 'tiny',
    edit: (named, c) => {
      for (const l of opts.identity ?? []) {
        for (const n of ['self_attn.o_proj.weight', 'mlp.down_proj.weight']) {
          const key = `model.layers.${l}.${n}`;
          named.get(key)!.dispose();
          named.set(
            key,
            tf.zeros(n.startsWith('mlp') ? [c.hiddenSize, c.intermediateSize] : [c.hiddenSize, c.numHeads * c.headDim]),
          );
        }
      }
    },
  });
}

/** The same, written as a Hugging Face checkpoint directory. */
export async function tinyCheckpoint(opts: Parameters<typeof tinyModel>[0] = {}): Promise<string> {
  const h = await tinyModel(opts);
  const dir = join(tempDir(), 'tiny');
  await exportCheckpoint(h, dir);
  h.dispose();
  return dir;
}

/** Qwen3-0.6B's vocabulary. */
export const QWEN_VOCAB = 151_936;

/** A 2-layer, d = 64 Qwen3-shaped model with Qwen3's vocabulary (tied embedding, chars tokenizer). */
export function bigVocabModel(seed = 1): Promise<ModelHandle> {
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
    vocab_size: QWEN_VOCAB,
  };
  return randomModel({ config, rng: new Rng(seed), std: 0.5, where: 'big-vocab' });
}
