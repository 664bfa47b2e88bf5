import { inject, injectable } from 'inversify';
import { resolve } from 'node:path';
import { once, RNG, type GraphNode, type PluginManifest, type Rng } from '@e3/core';
import { jsonlDataset, type JsonlParams } from './jsonl.js';

/** `data.jsonl`: prompt/answer or plain-text records from a JSONL file, streamed from disk. */
@injectable()
export class JsonlNode implements GraphNode<JsonlParams> {
  constructor(@inject(RNG) private readonly rng: Rng) {}
  connect(_inputs: Record<string, never>, p: JsonlParams) {
    return { data: once({}, [], () => jsonlDataset({ ...p, path: resolve(p.path) }, this.rng)) };
  }
}

export const jsonlManifest: PluginManifest = {
  key: 'data.jsonl',
  doc: 'Records from a JSONL file: {prompt, answer} (loss on the answer) or {text}; seeded split and shuffling; read from disk on demand.',
  inputs: {},
  outputs: { data: { type: 'Dataset' } },
  params: {
    type: 'object', required: ['path'], additionalProperties: false,
    properties: {
      path: {
        type: 'string', description: 'JSONL file (relative to the working directory)', 'x-path': { kind: 'file' },
      },
      heldoutFraction: { type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0.1 },
      promptField: { type: 'string', default: 'prompt' }, answerField: { type: 'string', default: 'answer' }, textField: { type: 'string', default: 'text' },
    },
  },
  node: JsonlNode,
};
