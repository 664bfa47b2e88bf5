import { inject, injectable } from 'inversify';
import { LOGGER, once, RNG, type GraphNode, type Logger, type PluginManifest, type Rng } from '@e3/core';
import { byteTokenizerJson } from './byte-tokenizer.js';
import { charTokenizerConfig, charTokenizerJson } from './char-tokenizer.js';
import { parseDecoderConfig } from './config.js';
import { DecoderModel } from './decoder.js';
import { makeHandle } from './handle.js';
import { initWeights } from './init-weights.js';
import { loadTokenizerFromJson } from './tokenizer.js';
import { weightsFromNamed } from './weights.js';

interface Params { config: Record<string, unknown>; tokenizer: 'chars' | 'bytes'; chars: string; initStd: number }

/** `model.init`: a fresh, randomly initialised model (from the run's RNG) with a character tokenizer. */
@injectable()
export class InitModelNode implements GraphNode<Params> {
  constructor(@inject(RNG) private readonly rng: Rng, @inject(LOGGER) private readonly log: Logger) {}

  connect(_inputs: Record<string, never>, p: Params) {
    return {
      model: once({}, [], async () => {
        const tokJson = p.tokenizer === 'bytes' ? byteTokenizerJson() : charTokenizerJson(p.chars);
        const vocabSize = Object.keys((tokJson.model as { vocab: object }).vocab).length;
        const raw = { ...p.config, vocab_size: vocabSize, pad_token_id: 0, eos_token_id: 1 };
        const config = parseDecoderConfig(raw, 'nodes.*.params.config');
        const model = new DecoderModel(config, weightsFromNamed(config, initWeights(config, this.rng, p.initStd)), { rawConfig: raw, keptLayers: [...Array(config.numLayers).keys()], originalLayers: config.numLayers });
        this.log.info(`initialised ${config.modelType}: ${config.numLayers} layers, d=${config.hiddenSize}, vocab ${vocabSize}, ${model.parameterCount()} parameters`);
        return makeHandle({
          model, dtype: 'F32', tokenizer: await loadTokenizerFromJson(tokJson, charTokenizerConfig()),
          tokenizerFiles: { 'tokenizer.json': tokJson, 'tokenizer_config.json': charTokenizerConfig() },
          generationConfig: { eos_token_id: 1, pad_token_id: 0, do_sample: false, max_new_tokens: 8 },
          eosId: 1, padId: 0,
        });
      }),
    };
  }
}

export const initModelManifest: PluginManifest = {
  key: 'model.init',
  doc: 'Creates a randomly initialised decoder (seeded) with a character-level or byte-level tokenizer.',
  inputs: {},
  outputs: { model: { type: 'Model' } },
  params: {
    type: 'object',
    required: ['config'],
    additionalProperties: false,
    properties: {
      config: { type: 'object', description: 'Hugging Face config.json fields (model_type, hidden_size, num_hidden_layers, …); vocab_size comes from the tokenizer' },
      tokenizer: { enum: ['chars', 'bytes'], default: 'chars', description: 'chars: one token per character of `chars`; bytes: byte-level (any text), 259 tokens' },
      chars: { type: 'string', default: '0123456789+-*= ', description: 'characters of the chars tokenizer (after <pad>, <eos>, <unk>)' },
      initStd: { type: 'number', exclusiveMinimum: 0, default: 0.02, description: 'std of the normal init of matrices' },
    },
  },
  node: InitModelNode,
};
