import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { optionalPath, requirePath, UserError } from '@e3/core';
import { expectedTensors, parseDecoderConfig, type DecoderConfig } from './config.js';
import { DecoderModel } from './decoder.js';
import { readJsonFile } from './json-file.js';
import { openSafetensors, type FloatDtype, type SafetensorsFile } from './safetensors.js';
import { checkBackendRoom, filledTensor } from './filled-tensor.js';
import { makeHandle, type ModelHandle } from './handle.js';
import { loadTokenizerFromJson, tokenizerJsonSize } from './tokenizer.js';

/** Tokenizer companions copied along with a checkpoint. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];
import { weightsFromNamed } from './weights.js';
import { isProjectionName, packBf16, type FrozenDtype } from './bf16-weights.js';

const MODEL_DIR_FIX = 'give a Hugging Face model directory, one that holds config.json and model.safetensors';
const CHECKPOINT_FIX = 'a checkpoint holds its config, weights and tokenizer as files; restore or re-export it';

/** Whether the checkpoint directory holds the optional file `name`; a directory or symlink loop there is an error. */
function hasFile(dir: string, name: string): boolean {
  return optionalPath(join(dir, name), 'file', name, CHECKPOINT_FIX);
}

/** The safetensors files of a directory: one `model.safetensors`, or the shards its index names. */
export function openWeights(dir: string): { files: SafetensorsFile[]; owner: Map<string, SafetensorsFile> } {
  const indexFile = join(dir, 'model.safetensors.index.json');
  const single = join(dir, 'model.safetensors');
  const owner = new Map<string, SafetensorsFile>();
  if (hasFile(dir, 'model.safetensors.index.json')) {
    const index = readJsonFile(indexFile, 'shard index');
    const map = index.weight_map as Record<string, string> | undefined;
    if (!map || typeof map !== 'object') throw new UserError(`${indexFile}: missing "weight_map"`);
    const files = new Map<string, SafetensorsFile>();
    for (const shard of new Set(Object.values(map))) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('..'))
        throw new UserError(`${indexFile}: bad shard name ${JSON.stringify(shard)}`);
      requirePath(join(dir, shard), 'file', `shard ${shard} listed in ${indexFile}`, CHECKPOINT_FIX);
      files.set(shard, openSafetensors(join(dir, shard)));
    }
    for (const [name, shard] of Object.entries(map)) {
      const f = files.get(shard)!;
      if (!f.entries.has(name))
        throw new UserError(`${indexFile}: maps tensor "${name}" to ${shard}, which does not contain it`);
      owner.set(name, f);
    }
    for (const f of files.values())
      for (const name of f.entries.keys()) {
        if (!owner.has(name)) throw new UserError(`${f.path}: tensor "${name}" is not in ${indexFile}'s weight_map`);
      }
    return { files: [...files.values()], owner };
  }
  if (hasFile(dir, 'model.safetensors')) {
    const f = openSafetensors(single);
    for (const name of f.entries.keys()) owner.set(name, f);
    return { files: [f], owner };
  }
  const found = readdirSync(dir).join(', ');
  throw new UserError(`${dir}: no model.safetensors or model.safetensors.index.json (found: ${found || 'nothing'})`);
}

/** Checks names and shapes against config.json before anything large is read. */
function checkAgainstConfig(c: DecoderConfig, owner: Map<string, SafetensorsFile>, dir: string): void {
  const expected = expectedTensors(c);
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const f = owner.get(name);
    if (!f) {
      problems.push(`missing tensor "${name}" (expected shape [${shape}])`);
      continue;
    }
    const got = f.entries.get(name)!.shape;
    if (got.join() !== shape.join())
      problems.push(`${f.path}: tensor "${name}" has shape [${got}] but config.json implies [${shape}]`);
  }
  for (const [name, f] of owner) {
    if (expected.has(name) || name.endsWith('rotary_emb.inv_freq')) continue;
    if (name === 'lm_head.weight' && c.tieWordEmbeddings) continue;
    const layer = /^model\.layers\.(\d+)\./.exec(name);
    problems.push(
      layer && Number(layer[1]) >= c.numLayers
        ? `${f.path}: tensor "${name}" belongs to layer ${layer[1]}, but config.json has num_hidden_layers = ${c.numLayers}`
        : `${f.path}: unexpected tensor "${name}" for a ${c.modelType} model with this config`,
    );
  }
  if (problems.length)
    throw new UserError(
      `${dir}: checkpoint does not match config.json:\n  ${problems.slice(0, 20).join('\n  ')}${problems.length > 20 ? `\n  … and ${problems.length - 20} more` : ''}`,
    );
}

/** Every token id must have an embedding row; a larger id would fail only at generation (in GatherV2). */
function checkTokenizerFits(tokenizerSize: number, c: DecoderConfig, dir: string): void {
  if (tokenizerSize <= c.vocabSize) return;
  const [tokFile, configFile] = [join(dir, 'tokenizer.json'), join(dir, 'config.json')];
  throw new UserError(
    `${tokFile}: token ids go up to ${tokenizerSize - 1}, but ${configFile} ` +
      `has vocab_size ${c.vocabSize} (embedding rows 0..${c.vocabSize - 1}): ` +
      'the tokenizer does not belong to this model (fix: use the tokenizer the model was trained with, ' +
      `or a model whose vocab_size is at least ${tokenizerSize})`,
  );
}

/** config.json parsed and the safetensors headers checked against it: what loading and inspecting share. */
function openCheckpoint(dir: string): {
  config: DecoderConfig;
  rawConfig: Record<string, unknown>;
  files: SafetensorsFile[];
  owner: Map<string, SafetensorsFile>;
} {
  requirePath(dir, 'dir', 'model directory', MODEL_DIR_FIX);
  const configFile = join(dir, 'config.json');
  requirePath(configFile, 'file', 'config.json', MODEL_DIR_FIX);
  const rawConfig = readJsonFile(configFile, 'config.json');
  const config = parseDecoderConfig(rawConfig, configFile);
  const { files, owner } = openWeights(dir);
  checkAgainstConfig(config, owner, dir);
  return { config, rawConfig, files, owner };
}

/** The tokenizer companions present in `dir`, parsed (tokenizer.json is parsed once, here). */
function readTokenizerFiles(dir: string): Record<string, Record<string, unknown>> {
  const files: Record<string, Record<string, unknown>> = {};
  for (const f of TOKENIZER_FILES) if (hasFile(dir, f)) files[f] = readJsonFile(join(dir, f), f);
  return files;
}

/** The weights' dtype: the most common one among the model's tensors. */
function weightsDtype(config: DecoderConfig, owner: Map<string, SafetensorsFile>): FloatDtype {
  const dtypes = new Map<string, number>();
  for (const name of expectedTensors(config).keys()) {
    const d = owner.get(name)!.entries.get(name)!.dtype;
    dtypes.set(d, (dtypes.get(d) ?? 0) + 1);
  }
  const dtype = [...dtypes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'F32';
  return (['F32', 'F16', 'BF16'].includes(dtype) ? dtype : 'F32') as FloatDtype;
}

/** Parameters of a model of this config (tied embeddings counted once). */
function parameterCount(config: DecoderConfig): number {
  let n = 0;
  for (const shape of expectedTensors(config).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/** What `e3 model info` reports, from config.json and the safetensors headers alone. */
export interface CheckpointInfo {
  config: DecoderConfig;
  /** Parameters of the model (tied embeddings counted once), from the tensor shapes. */
  parameters: number;
  dtype: FloatDtype;
  /** Size of the weight files on disk. */
  bytes: number;
  tokenizer: boolean;
}

/**
 * Inspects a checkpoint without reading its weights: config.json, the safetensors headers
 * (names, shapes, dtypes, checked against the config as loading does), tokenizer.json, whose
 * ids must fit vocab_size, and every other JSON file loading reads (tokenizer_config.json,
 * special_tokens_map.json, generation_config.json). Tensor data is never read, so neither its values nor a
 * file damaged after its header are checked.
 */
export function inspectCheckpoint(dir: string): CheckpointInfo {
  const { config, files, owner } = openCheckpoint(dir);
  const parameters = parameterCount(config);
  const tokenizer = hasFile(dir, 'tokenizer.json');
  const companions = readTokenizerFiles(dir);
  if (tokenizer) checkTokenizerFits(tokenizerJsonSize(companions['tokenizer.json']), config, dir);
  if (hasFile(dir, 'generation_config.json'))
    readJsonFile(join(dir, 'generation_config.json'), 'generation_config.json');
  const bytes = files.reduce((n, f) => n + statSync(f.path).size, 0);
  return { config, parameters, dtype: weightsDtype(config, owner), bytes, tokenizer };
}

/**
 * Loads a Hugging Face model directory: config.json, safetensors (single or sharded),
 * tokenizer.json (optional), generation_config.json (optional). All weights become f32.
 */
export async function loadCheckpoint(dir: string, o: { frozenDtype?: FrozenDtype } = {}): Promise<ModelHandle> {
  const { config, rawConfig, owner } = openCheckpoint(dir);
  checkBackendRoom(4 * parameterCount(config), `${dir}: the model's weights`);
  const named = new Map<string, tf.Tensor>();
  try {
    for (const name of expectedTensors(config).keys()) {
      const f = owner.get(name)!;
      const shape = f.entries.get(name)!.shape;
      const read = (out: Float32Array) => {
        const bad = f.readFloat32Into(name, out);
        if (bad >= 0) throw new UserError(`${f.path}: tensor "${name}" holds a non-finite value at index ${bad}`);
      };
      if (o.frozenDtype === 'bfloat16' && isProjectionName(name)) {
        // Kept in bf16 (bf16-weights.ts): read as f32 one tensor at a time, then packed.
        const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
        read(values);
        named.set(name, packBf16(values, shape[0], shape[1], `${f.path}: tensor "${name}"`));
      } else named.set(name, filledTensor(shape, read));
    }
  } catch (e) {
    for (const t of named.values()) t.dispose();
    throw e;
  }
  const keptLayers = [...Array(config.numLayers).keys()];
  const origin = { dir, rawConfig, keptLayers, originalLayers: config.numLayers };
  const model = new DecoderModel(config, weightsFromNamed(config, named), origin);
  const tokenizerFiles = readTokenizerFiles(dir);
  const tokenizerJson = tokenizerFiles['tokenizer.json'];
  const tokenizerConfig = tokenizerFiles['tokenizer_config.json'] ?? {};
  const tokenizer = tokenizerJson
    ? await loadTokenizerFromJson(tokenizerJson, tokenizerConfig, join(dir, 'tokenizer.json'))
    : undefined;
  if (tokenizer) checkTokenizerFits(tokenizer.size, config, dir);
  const genFile = join(dir, 'generation_config.json');
  const generationConfig = hasFile(dir, 'generation_config.json')
    ? readJsonFile(genFile, 'generation_config.json')
    : undefined;
  return makeHandle({ model, tokenizer, tokenizerFiles, generationConfig, dtype: weightsDtype(config, owner) });
}
