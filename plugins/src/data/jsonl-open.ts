import { UserError, type Rng } from '@e3/core';
import { chatRenderer } from './chat.js';
import type { Dataset } from './dataset.js';
import { jsonlDataset, type JsonlContext, type JsonlParams } from './jsonl.js';
import { loadPacker } from './pack.js';
import { loadTokenizer } from '../model/tokenizer.js';

/**
 * The dataset, with the chat template and packing tokenizer of params.tokenizer when named.
 * `counterDir`: the checkpoint whose tokenizer counts what records need of maxTokens when
 * params.tokenizer names none (the pre-flight check passes the model's).
 */
export async function openJsonl(
  p: JsonlParams,
  rng: Rng,
  context: JsonlContext = {},
  counterDir?: string,
): Promise<Dataset> {
  const field = (name: string) => `${context.node ? `node "${context.node}" ` : ''}field "params.${name}"`;
  if (p.pack && (p.maxTokens === undefined || p.tokenizer === undefined)) {
    throw new UserError(
      `${field('pack')} = true needs params.maxTokens (the row length) and params.tokenizer (the checkpoint ` +
        'directory whose tokenizer packs) (fix: set both, or pack: false)',
    );
  }
  const chat = p.tokenizer === undefined ? undefined : chatRenderer(p.tokenizer);
  const packer = p.pack ? await loadPacker(p.tokenizer!, p.maxTokens!) : undefined;
  const countWith = p.maxTokens !== undefined && !p.pack ? (p.tokenizer ?? counterDir) : undefined;
  const counter = countWith === undefined ? undefined : await loadTokenizer(countWith);
  return jsonlDataset(p, rng, context, { chat, packer, counter });
}
