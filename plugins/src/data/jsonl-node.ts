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
import type { JsonlParams } from './jsonl.js';
import { openJsonl } from './jsonl-open.js';

/** `data.jsonl`: prompt/answer or plain-text records from a JSONL file, streamed from disk. */
@injectable()
export class JsonlNode implements GraphNode<JsonlParams> {
  constructor(
    @inject(RNG) private readonly rng: Rng,
    @inject(LOGGER) private readonly log: Logger,
  ) {}
  connect(_inputs: Record<string, never>, p: JsonlParams, ctx: NodeContext) {
    const context = { node: ctx.id, note: (m: string) => this.log.info(m) };
    const paths = { path: resolve(p.path), tokenizer: p.tokenizer === undefined ? undefined : resolve(p.tokenizer) };
    return { data: once({}, [], () => openJsonl({ ...p, ...paths }, this.rng, context)) };
  }
}

export const jsonlManifest: PluginManifest = {
  key: 'data.jsonl',
  doc:
    'Records from a JSONL file: {prompt, answer} (loss on the answer), {text}, or {messages} (chat, rendered with ' +
    "params.tokenizer's chat template; loss on the last assistant turn); {text} records can be packed into rows of " +
    'maxTokens tokens; seeded split and shuffling; read from disk on demand.',
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
      messagesField: { type: 'string', default: 'messages' },
      tokenizer: {
        type: 'string',
        description:
          "checkpoint directory (the models' own) whose tokenizer_config.json chat_template renders {messages} " +
          'records and whose tokenizer packs {text} records',
        'x-path': { kind: 'dir' },
      },
      maxTokens: {
        type: 'integer',
        minimum: 1,
        description:
          'pack: the length of every packed row but the last; not packed: each {text} record (text + end token) ' +
          'is cut to this many tokens, and a {prompt, answer} or chat record must fit whole (prompt + answer), ' +
          'else it is refused',
      },
      pack: {
        type: 'boolean',
        default: false,
        description:
          'join {text} records, the end token after each, and cut the stream into rows of maxTokens tokens ' +
          '(needs maxTokens and tokenizer; the held-out split is by record, packed apart)',
      },
    },
  },
  node: JsonlNode,
};
