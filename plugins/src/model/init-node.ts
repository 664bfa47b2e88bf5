import { inject, injectable } from 'inversify';
import { LOGGER, once, RNG, type GraphNode, type Logger, type PluginManifest, type Rng } from '@e3/core';
import { randomModel } from './random-model.js';

interface Params {
  config: Record<string, unknown>;
  tokenizer: 'chars' | 'bytes';
  chars: string;
  initStd: number;
}

/** `model.init`: a fresh, randomly initialised model (from the run's RNG) with a character tokenizer. */
@injectable()
export class InitModelNode implements GraphNode<Params> {
  constructor(
    @inject(RNG) private readonly rng: Rng,
    @inject(LOGGER) private readonly log: Logger,
  ) {}

  connect(_inputs: Record<string, never>, p: Params) {
    return {
      model: once({}, [], async () => {
        // Vocabulary size and pad/eos ids always come from the tokenizer here, whatever the config says.
        const { vocab_size: _v, pad_token_id: _p, eos_token_id: _e, ...config } = p.config;
        const h = await randomModel({
          config,
          rng: this.rng,
          std: p.initStd,
          tokenizer: p.tokenizer,
          chars: p.chars,
          where: 'nodes.*.params.config',
          generationConfig: { eos_token_id: 1, pad_token_id: 0, do_sample: false, max_new_tokens: 8 },
        });
        const c = h.model.config;
        this.log.info(
          `initialised ${c.modelType}: ${c.numLayers} layers, d=${c.hiddenSize}, vocab ${c.vocabSize}, ${h.model.parameterCount()} parameters`,
        );
        return h;
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
      config: {
        type: 'object',
        description:
          'Hugging Face config.json fields (model_type, hidden_size, num_hidden_layers, …); vocab_size comes from the tokenizer',
      },
      tokenizer: {
        enum: ['chars', 'bytes'],
        default: 'chars',
        description: 'chars: one token per character of `chars`; bytes: byte-level (any text), 259 tokens',
      },
      chars: {
        type: 'string',
        default: '0123456789+-*= ',
        description: 'characters of the chars tokenizer (after <pad>, <eos>, <unk>)',
      },
      initStd: {
        type: 'number',
        exclusiveMinimum: 0,
        default: 0.02,
        description: 'std of the normal init of matrices',
      },
    },
  },
  node: InitModelNode,
};
