import { inject, injectable } from 'inversify';
import { resolve } from 'node:path';
import {
  LOGGER,
  once,
  RNG,
  type GraphNode,
  type Logger,
  type NodeContext,
  type PluginManifest,
  type Rng,
} from '@e3/core';
import { jsonlDataset, type JsonlParams } from './jsonl.js';

/** `data.jsonl`: prompt/answer or plain-text records from a JSONL file, streamed from disk. */
@injectable()
export class JsonlNode implements GraphNode<JsonlParams> {
  constructor(
    @inject(RNG) private readonly rng: Rng,
    @inject(LOGGER) private readonly log: Logger,
  ) {}
  connect(_inputs: Record<string, never>, p: JsonlParams, ctx: NodeContext) {
    const context = { node: ctx.id, note: (m: string) => this.log.info(m) };
    return { data: once({}, [], () => jsonlDataset({ ...p, path: resolve(p.path) }, this.rng, context)) };
  }
}

export const jsonlManifest: PluginManifest = {
  key: 'data.jsonl',
  doc: 'Records from a JSONL file: {prompt, answer} (loss on the answer) or {text}; seeded split and shuffling; read from disk on demand.',
  inputs: {},
  outputs: { data: { type: 'Dataset' } },
  params: {
    type: 'object',
    required: ['path'],
    additionalProperties: false,
    properties: {
      path: {
        type: 'string',
        description: 'JSONL file (relative to the working directory)',
        'x-path': { kind: 'file' },
      },
      heldoutFraction: { type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0.1 },
      promptField: { type: 'string', default: 'prompt' },
      answerField: { type: 'string', default: 'answer' },
      textField: { type: 'string', default: 'text' },
    },
  },
  node: JsonlNode,
};
