import { join } from 'node:path';
import { Rng } from '@e3/core';
import { openJsonl, type Dataset, type JsonlParams } from '@e3/plugins';
import { writeFiles } from './files.js';
import { QWEN3_TOKENIZER_DIR } from './qwen3-tokenizer.js';

/** data.jsonl's defaults, but nothing held out. */
const DEFAULTS = {
  promptField: 'prompt',
  answerField: 'answer',
  textField: 'text',
  messagesField: 'messages',
  heldoutFraction: 0,
  pack: false,
};

/** A d.jsonl in a fresh directory: one line per item (strings as they are, the rest as JSON); returns its path. */
export function jsonlFile(lines: readonly unknown[]): string {
  const text = lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n');
  return join(writeFiles({ 'd.jsonl': text + '\n' }), 'd.jsonl');
}

/** data.jsonl over `path` as node "data", params.tokenizer Qwen3's unless given (null: none). */
export function openQwen3Jsonl(
  path: string,
  params: Partial<Omit<JsonlParams, 'tokenizer'>> & { tokenizer?: string | null } = {},
): Promise<Dataset> {
  const tokenizer = params.tokenizer === undefined ? QWEN3_TOKENIZER_DIR : (params.tokenizer ?? undefined);
  return openJsonl({ ...DEFAULTS, ...params, tokenizer, path }, new Rng(0), { node: 'data' });
}
