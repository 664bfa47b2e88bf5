import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeHeaderOnlyCheckpoint } from '@e3/plugins';
import { ROOT, tempDir } from './files.js';

/** Qwen3-0.6B's config.json fields (the model card's shape). */
export const QWEN3_06B_CONFIG = {
  model_type: 'qwen3',
  hidden_size: 1024,
  intermediate_size: 3072,
  num_hidden_layers: 28,
  num_attention_heads: 16,
  num_key_value_heads: 8,
  head_dim: 128,
  vocab_size: 151936,
  max_position_embeddings: 40960,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  tie_word_embeddings: true,
  eos_token_id: 151645,
};

/** A header-only checkpoint (sparse data, no disk) of `config` in a new temporary directory. */
export function headerOnlyCheckpoint(config: Record<string, unknown> = QWEN3_06B_CONFIG): string {
  return writeHeaderOnlyCheckpoint(join(tempDir('e3-large-'), 'model'), config);
}

/** The Qwen3-0.6B-shaped checkpoint: E3_SCALE_CKPT, or bench/scale.js's cache (built here when absent). */
export async function qwen06(): Promise<string> {
  const dir = process.env.E3_SCALE_CKPT ?? join(ROOT, '.e3-cache', 'scale', 'qwen3-0.6b');
  if (!existsSync(join(dir, 'model.safetensors'))) {
    const make = join(ROOT, 'bench', 'scale', 'make-checkpoint.js');
    const { makeCheckpoint } = (await import(make)) as { makeCheckpoint: (s: string, d: string, o: object) => unknown };
    makeCheckpoint('qwen3-0.6b', dir, { seed: 0 });
  }
  return dir;
}
