import { join } from 'node:path';
import { Rng } from '@e3/core';
import { exportCheckpoint, randomModel } from '@e3/plugins';
import { tempDir } from './files.js';
import { useBackend } from './tf.js';

/**
 * A one-block Qwen3 checkpoint with d = 512, ffn 2,560: 18.9 MB of f32 projection weights, past the
 * fused kernels' 16 MB from which each projection is split by features over the two threads
 * (cc/decoder_block.cc kMinWeightBytesToSplitFeatures). Random weights (seed 4), in a new directory.
 */
export async function wideBlockCheckpoint(name: string): Promise<string> {
  await useBackend('cpu');
  const config = {
    model_type: 'qwen3',
    hidden_size: 512,
    intermediate_size: 2560,
    num_hidden_layers: 1,
    num_attention_heads: 8,
    num_key_value_heads: 4,
    head_dim: 64,
    max_position_embeddings: 64,
    tie_word_embeddings: true,
    vocab_size: 48,
  };
  const h = await randomModel({ config, rng: new Rng(4), std: 0.05, where: name });
  const dir = join(tempDir(), name);
  await exportCheckpoint(h, dir);
  h.dispose();
  return dir;
}
