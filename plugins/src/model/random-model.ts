import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@e3/core';
import { byteTokenizerJson } from './byte-tokenizer.js';
import { charTokenizerConfig, charTokenizerJson } from './char-tokenizer.js';
import { parseDecoderConfig, type DecoderConfig } from './config.js';
import { DecoderModel } from './decoder.js';
import { makeHandle, type ModelHandle } from './handle.js';
import { initWeights } from './init-weights.js';
import { loadTokenizerFromJson } from './tokenizer.js';
import { weightsFromNamed } from './weights.js';

export interface RandomModelOptions {
  /** config.json fields; `vocab_size` defaults to the tokenizer's, pad/eos ids to 0 and 1. */
  config: Record<string, unknown>;
  rng: Rng;
  /** std of the normal init of matrices (norms start at 1, biases at 0). */
  std: number;
  tokenizer?: 'chars' | 'bytes';
  /** Characters of the chars tokenizer (after <pad>, <eos>, <unk>). */
  chars?: string;
  /** generation_config.json (default: eos and pad ids). */
  generationConfig?: Record<string, unknown>;
  /** May replace named tensors (disposing what it replaces) before the model takes them. */
  edit?: (named: Map<string, tf.Tensor>, config: DecoderConfig) => void;
  /** Where the config came from, for errors. */
  where?: string;
}

/**
 * A decoder with fresh random weights (the Hugging Face init convention, from `rng`) and a
 * character- or byte-level tokenizer: what `model.init` builds, and what tests and benchmarks
 * write out as small Hugging Face checkpoints.
 */
export async function randomModel(o: RandomModelOptions): Promise<ModelHandle> {
  const tokJson = o.tokenizer === 'bytes' ? byteTokenizerJson() : charTokenizerJson(o.chars ?? '0123456789+-*= ');
  const vocabSize = Object.keys((tokJson.model as { vocab: object }).vocab).length;
  const c = o.config;
  const raw = {
    ...c,
    vocab_size: c.vocab_size ?? vocabSize,
    pad_token_id: c.pad_token_id ?? 0,
    eos_token_id: c.eos_token_id ?? 1,
  };
  const config = parseDecoderConfig(raw, o.where ?? 'config');
  const named = initWeights(config, o.rng, o.std);
  o.edit?.(named, config);
  const model = new DecoderModel(config, weightsFromNamed(config, named), {
    rawConfig: raw,
    keptLayers: [...Array(config.numLayers).keys()],
    originalLayers: config.numLayers,
  });
  return makeHandle({
    model,
    dtype: 'F32',
    tokenizer: await loadTokenizerFromJson(tokJson, charTokenizerConfig()),
    tokenizerFiles: { 'tokenizer.json': tokJson, 'tokenizer_config.json': charTokenizerConfig() },
    generationConfig: o.generationConfig ?? { eos_token_id: 1, pad_token_id: 0 },
    eosId: 1,
    padId: 0,
  });
}
