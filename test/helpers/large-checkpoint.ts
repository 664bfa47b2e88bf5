import { closeSync, mkdirSync, openSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { expectedTensors, parseDecoderConfig } from '@e3/plugins';
import { tempDir } from './files.js';

/** Qwen3-0.6B's config.json fields (the model card's shape). */
export const QWEN3_06B_CONFIG = {
  model_type: 'qwen3', hidden_size: 1024, intermediate_size: 3072, num_hidden_layers: 28, num_attention_heads: 16,
  num_key_value_heads: 8, head_dim: 128, vocab_size: 151936, max_position_embeddings: 40960, rms_norm_eps: 1e-6,
  rope_theta: 1000000, tie_word_embeddings: true, eos_token_id: 151645,
};

/**
 * A checkpoint directory whose config.json and safetensors header describe a large model (bf16)
 * while its data is a sparse hole: the file has the right length but takes no disk. Only what
 * reads headers (inspectCheckpoint, the memory plan) can use it.
 */
export function headerOnlyCheckpoint(config: Record<string, unknown> = QWEN3_06B_CONFIG): string {
  const dir = join(tempDir('e3-large-'), 'model');
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape] of expectedTensors(parseDecoderConfig(config, 'config.json'))) {
    const bytes = 2 * shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const file = join(dir, 'model.safetensors');
  const fd = openSync(file, 'w');
  writeSync(fd, len);
  writeSync(fd, json);
  closeSync(fd);
  truncateSync(file, 8 + json.length + offset);
  return dir;
}
