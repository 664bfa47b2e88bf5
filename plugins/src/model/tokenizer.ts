import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { UserError } from '@e3/core';
import { readJsonFile } from './json-file.js';

/** What the pipeline needs of a tokenizer. */
export interface TextTokenizer {
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  /** Id of a token string, if in the vocabulary. */
  tokenId(token: string): number | undefined;
}

/** tokenizer.json (+ tokenizer_config.json when present) through @huggingface/tokenizers. */
export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  const json = readJsonFile(join(dir, 'tokenizer.json'), 'tokenizer.json');
  const cfgFile = join(dir, 'tokenizer_config.json');
  const cfg = existsSync(cfgFile) ? readJsonFile(cfgFile, 'tokenizer_config.json') : {};
  return loadTokenizerFromJson(json, cfg, join(dir, 'tokenizer.json'));
}

/** A tokenizer from tokenizer.json / tokenizer_config.json objects. */
export async function loadTokenizerFromJson(json: Record<string, unknown>, cfg: Record<string, unknown>, file = 'tokenizer.json'): Promise<TextTokenizer> {
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json as never, cfg as never);
  } catch (e) {
    throw new UserError(`${file}: cannot build the tokenizer: ${(e as Error).message}`);
  }
  const vocab = new Map<string, number>();
  const model = (json.model ?? {}) as { vocab?: Record<string, number> };
  for (const [k, v] of Object.entries(model.vocab ?? {})) vocab.set(k, v);
  for (const t of (json.added_tokens ?? []) as { id: number; content: string }[]) vocab.set(t.content, t.id);
  return {
    encode: (text) => tok.encode(text, { add_special_tokens: false } as never).ids,
    // The library rejects an empty list; an immediate end token is an empty completion.
    decode: (ids) => (ids.length ? tok.decode([...ids], { skip_special_tokens: true } as never) : ''),
    tokenId: (token) => vocab.get(token),
  };
}
