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
  /** Largest token id + 1 (the embedding needs at least this many rows). */
  readonly size: number;
  /**
   * The distinct characters of `text` the vocabulary cannot encode (each maps to the unknown
   * token, or to nothing), in order of first appearance. Whitespace is never reported:
   * pre-tokenizers drop it by design.
   */
  unknownChars(text: string): string[];
  /** What happens to unknown characters: "they become <unk>" or "they are dropped". */
  readonly unknownFate: string;
}

/** tokenizer.json (+ tokenizer_config.json when present) through @huggingface/tokenizers. */
export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  const json = readJsonFile(join(dir, 'tokenizer.json'), 'tokenizer.json');
  const cfgFile = join(dir, 'tokenizer_config.json');
  const cfg = existsSync(cfgFile) ? readJsonFile(cfgFile, 'tokenizer_config.json') : {};
  return loadTokenizerFromJson(json, cfg, join(dir, 'tokenizer.json'));
}

/** A tokenizer from tokenizer.json / tokenizer_config.json objects. */
export async function loadTokenizerFromJson(
  json: Record<string, unknown>,
  cfg: Record<string, unknown>,
  file = 'tokenizer.json',
): Promise<TextTokenizer> {
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json as never, cfg as never);
  } catch (e) {
    throw new UserError(`${file}: cannot build the tokenizer: ${(e as Error).message}`);
  }
  const vocab = tokenizerVocab(json);
  const model = (json.model ?? {}) as { unk_token?: string | null };
  const encode = (text: string) => tok.encode(text, { add_special_tokens: false } as never).ids;
  const unkToken = model.unk_token;
  const unkId = unkToken ? vocab.get(unkToken) : undefined;
  return {
    encode,
    size: vocabSize(vocab),
    unknownChars: unknownCharsOf(encode, unkId),
    unknownFate: unkId === undefined ? 'they are dropped' : `they become ${unkToken}`,
    // The library rejects an empty list; an immediate end token is an empty completion.
    decode: (ids) => (ids.length ? tok.decode([...ids], { skip_special_tokens: true } as never) : ''),
    tokenId: (token) => vocab.get(token),
  };
}

/** Token string → id: the model's vocabulary, then the added tokens. */
function tokenizerVocab(json: Record<string, unknown>): Map<string, number> {
  const vocab = new Map<string, number>();
  const model = (json.model ?? {}) as { vocab?: Record<string, number> };
  for (const [k, v] of Object.entries(model.vocab ?? {})) vocab.set(k, v);
  for (const t of (json.added_tokens ?? []) as { id: number; content: string }[]) vocab.set(t.content, t.id);
  return vocab;
}

/** Largest id + 1. A loop, not Math.max(...ids): spreading a real vocabulary (150k ids) overflows the stack. */
function vocabSize(vocab: Map<string, number>): number {
  let maxId = -1;
  for (const id of vocab.values()) if (id > maxId) maxId = id;
  return maxId + 1;
}

/** The largest token id + 1 of a tokenizer.json object, without building the tokenizer. */
export function tokenizerJsonSize(json: Record<string, unknown>): number {
  return vocabSize(tokenizerVocab(json));
}

/**
 * Unknown characters by encoding each distinct character alone (memoised): one that yields no
 * token or only the unknown token is not in the vocabulary. Works for every tokenizer kind
 * e3 loads (char-level, byte-level — which never reports —, and Hugging Face BPE/WordPiece/
 * Unigram with or without an unk token), since all go through tokenizer.json.
 */
function unknownCharsOf(encode: (text: string) => number[], unkId: number | undefined): (text: string) => string[] {
  const known = new Map<string, boolean>();
  const isKnown = (ch: string) => {
    let k = known.get(ch);
    if (k === undefined) {
      const ids = encode(ch);
      k = ids.length > 0 && ids.some((id) => id !== unkId);
      known.set(ch, k);
    }
    return k;
  };
  return (text) => {
    const out = new Set<string>();
    for (const ch of text) if (!/\s/u.test(ch) && !isKnown(ch)) out.add(ch);
    return [...out];
  };
}

/** `'é' (U+00E9), '€' (U+20AC)`: characters named so that invisible ones show too. */
export function describeChars(chars: readonly string[], max = 10): string {
  const one = (ch: string) => JSON.stringify(ch).slice(1, -1);
  const code = (ch: string) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  const shown = chars
    .slice(0, max)
    .map((ch) => `'${one(ch)}' (${code(ch)})`)
    .join(', ');
  return chars.length > max ? `${shown} and ${chars.length - max} more` : shown;
}

/** "prompt 2: characters not in the tokenizer's vocabulary: 'é' (U+00E9) — they are dropped", or nothing. */
export function unknownCharsWarning(tok: TextTokenizer, text: string, label: string): string | undefined {
  const unknown = tok.unknownChars(text);
  if (!unknown.length) return undefined;
  return `${label}: characters not in the tokenizer's vocabulary: ${describeChars(unknown)} — ${tok.unknownFate}`;
}
