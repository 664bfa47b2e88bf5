import { UserError, type Rng } from '@e3/core';
import { chatRenderer } from './chat.js';
import type { Dataset } from './dataset.js';
import { jsonlDataset, type JsonlContext, type JsonlParams } from './jsonl.js';
import { loadPacker } from './pack.js';

/** The dataset, with the chat template and packing tokenizer of params.tokenizer when named. */
export async function openJsonl(p: JsonlParams, rng: Rng, context: JsonlContext = {}): Promise<Dataset> {
  const field = (name: string) => `${context.node ? `node "${context.node}" ` : ''}field "params.${name}"`;
  if (p.pack && (p.maxTokens === undefined || p.tokenizer === undefined)) {
    throw new UserError(
      `${field('pack')} = true needs params.maxTokens (the row length) and params.tokenizer (the checkpoint ` +
        'directory whose tokenizer packs) (fix: set both, or pack: false)',
    );
  }
  const chat = p.tokenizer === undefined ? undefined : chatRenderer(p.tokenizer);
  const packer = p.pack ? await loadPacker(p.tokenizer!, p.maxTokens!) : undefined;
  return jsonlDataset(p, rng, context, { chat, packer });
}
