import { inject, injectable } from 'inversify';
import { resolve } from 'node:path';
import { LOGGER, once, RUN_INFO, type GraphNode, type Logger, type PluginManifest, type RunInfo } from '@e3/core';
import { loadCheckpoint } from './checkpoint.js';
import type { ModelHandle } from './handle.js';
import { FROZEN_DTYPES, type FrozenDtype } from './bf16-weights.js';

/** `model.hfCheckpoint`: loads a Hugging Face model directory. */
@injectable()
export class HfCheckpointNode implements GraphNode<{ path: string; frozenDtype: FrozenDtype }> {
  constructor(
    @inject(LOGGER) private readonly log: Logger,
    @inject(RUN_INFO) private readonly run: RunInfo,
  ) {}

  connect(_inputs: Record<string, never>, p: { path: string; frozenDtype: FrozenDtype }) {
    return {
      model: once({}, [], async (): Promise<ModelHandle> => {
        const dir = resolve(p.path);
        const h = await loadCheckpoint(dir, { frozenDtype: p.frozenDtype });
        const c = h.model.config;
        const kept = p.frozenDtype === 'bfloat16' ? '; block projections kept in bf16 (frozen)' : '';
        this.log.info(
          `loaded ${c.modelType} from ${p.path}: ${c.numLayers} layers, d=${c.hiddenSize}, ${h.model.parameterCount()} parameters, ${h.dtype}${kept}`,
        );
        return h;
      }),
    };
  }
}

export const hfCheckpointManifest: PluginManifest = {
  key: 'model.hfCheckpoint',
  doc: 'Loads a Hugging Face checkpoint directory (config.json, safetensors, tokenizer.json).',
  inputs: {},
  outputs: { model: { type: 'Model', doc: 'the loaded model with its tokenizer' } },
  params: {
    type: 'object',
    required: ['path'],
    additionalProperties: false,
    properties: {
      path: {
        type: 'string',
        description: 'model directory (relative to the working directory)',
        'x-path': { kind: 'dir', contains: ['config.json'] },
      },
      frozenDtype: {
        enum: [...FROZEN_DTYPES],
        default: 'float32',
        description:
          "bfloat16: keep the blocks' projection weights in bf16, computed in f32 by the fused native kernels " +
          '(half their memory; for a teacher or a mask search: such a model does not train, model.prune makes f32)',
      },
    },
  },
  node: HfCheckpointNode,
};
