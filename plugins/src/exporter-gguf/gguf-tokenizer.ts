import { UserError } from '@e3/core';
import type { ModelHandle } from '../model/handle.js';
import { arr, bool, str, u32, type GgufValue } from './gguf-file.js';

/** llama.cpp's token types (llama_token_type). */
const TOKEN_TYPE = { normal: 1, control: 3, userDefined: 4, unused: 5 } as const;

/** The split regexes of the pre-tokenizers llama.cpp knows by name (its `tokenizer.ggml.pre`). */
const KNOWN_PRE: Record<string, string> = {
  // Qwen2, Qwen2.5, Qwen3: digits one at a time.
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+":
    'qwen2',
  // Llama 3: digits up to three at a time.
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+":
    'llama-bpe',
};

/** GPT-2's byte → printable character table, which byte-level BPE vocabularies are written in. */
function byteToUnicode(): string[] {
  const table: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCodePoint(printable ? b : 256 + extra++);
  }
  return table;
}

const BYTE_CHARS = byteToUnicode();
const toByteLevel = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => BYTE_CHARS[b]).join('');

interface TokenizerJson {
  added_tokens?: { id: number; content: string; special?: boolean }[];
  pre_tokenizer?: unknown;
  decoder?: unknown;
  post_processor?: unknown;
  model?: {
    type?: string;
    vocab?: Record<string, number>;
    merges?: (string | [string, string])[];
    byte_fallback?: boolean;
  };
}

/** The Split regex strings anywhere in a pre-tokenizer description. */
function splitPatterns(pre: unknown): string[] {
  const out: string[] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      if (o.type === 'Split' && typeof (o.pattern as { Regex?: unknown })?.Regex === 'string')
        out.push((o.pattern as { Regex: string }).Regex);
      Object.values(o).forEach(walk);
    }
  };
  walk(pre);
  return out;
}

/**
 * llama.cpp's pre-tokenizer name for a tokenizer.json: "qwen2" or "llama-bpe" when its split
 * regex is Qwen2's or Llama 3's, else "default" (llama.cpp's GPT-2-like split; a vocabulary
 * without merges, like e3's shipped byte and char tokenizers, tokenizes the same under any split).
 */
export function preTokenizerName(json: TokenizerJson): string {
  for (const p of splitPatterns(json.pre_tokenizer)) if (KNOWN_PRE[p]) return KNOWN_PRE[p];
  return 'default';
}

/** The id of a tokenizer_config special token entry ("<eos>" or { content: "<eos>" }). */
function specialId(entry: unknown, ids: Map<string, number>): number | undefined {
  const text = typeof entry === 'string' ? entry : (entry as { content?: unknown } | null)?.content;
  return typeof text === 'string' ? ids.get(text) : undefined;
}

/** The chat template of tokenizer_config.json: its string, or the "default" of a named list. */
function chatTemplate(cfg: Record<string, unknown>): string | undefined {
  const t = cfg.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return (t as { name: string; template: string }[]).find((x) => x.name === 'default')?.template;
  return undefined;
}

/**
 * The `tokenizer.*` metadata of a GGUF file from the tokenizer.json / tokenizer_config.json
 * that travel with the model: a byte-level BPE vocabulary ("gpt2") padded to the embedding's
 * rows with unused "[PADn]" tokens, its merges, token types (added special tokens are control
 * tokens, other added tokens user-defined), bos/eos/pad/unk ids, the pre-tokenizer name and the
 * chat template. A vocabulary that is not byte-level (e3's char tokenizer) is rewritten in
 * GPT-2's byte characters, with merges that rebuild each multi-byte character, so llama.cpp's
 * byte-level BPE yields the same tokens.
 */
export function tokenizerMetadata(h: ModelHandle): [string, GgufValue][] {
  const json = h.tokenizerFiles?.['tokenizer.json'] as TokenizerJson | undefined;
  if (!json)
    throw new UserError(
      "GGUF export needs the model's tokenizer.json: llama.cpp cannot load a model without a vocabulary; " +
        'put tokenizer.json beside config.json in the source model',
    );
  const cfg = (h.tokenizerFiles?.['tokenizer_config.json'] ?? {}) as Record<string, unknown>;
  const model = json.model ?? {};
  if (model.type !== 'BPE' || model.byte_fallback)
    throw new UserError(
      `tokenizer.json: GGUF export writes byte-level BPE vocabularies; this one is ${model.type ?? 'of no type'}` +
        `${model.byte_fallback ? ' with byte_fallback (SentencePiece-style)' : ''}; export with exporter.hf instead`,
    );
  const byteLevel = /"ByteLevel"/.test(JSON.stringify([json.pre_tokenizer ?? null, json.decoder ?? null]));
  const ids = new Map<string, number>(Object.entries(model.vocab ?? {}));
  const added = new Map<number, { content: string; special?: boolean }>();
  for (const t of json.added_tokens ?? []) {
    ids.set(t.content, t.id);
    added.set(t.id, t);
  }
  const size = h.model.config.vocabSize;
  const tokens: string[] = Array.from({ length: size }, (_, i) => `[PAD${i}]`);
  const types: number[] = new Array<number>(size).fill(TOKEN_TYPE.unused);
  const rebuild = new Set<string>();
  for (const [text, id] of Object.entries(model.vocab ?? {})) {
    if (id >= size || added.has(id)) continue;
    tokens[id] = byteLevel ? text : toByteLevel(text);
    types[id] = TOKEN_TYPE.normal;
    const chars = [...tokens[id]];
    if (!byteLevel && [...text].length === 1)
      for (let k = 1; k < chars.length; k++) rebuild.add(`${chars.slice(0, k).join('')} ${chars[k]}`);
  }
  for (const [id, t] of added) {
    if (id >= size) continue;
    tokens[id] = t.content;
    types[id] = t.special ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined;
  }
  const pairs = (model.merges ?? []).map((m) => (typeof m === 'string' ? m.split(' ') : m));
  const merges = [
    ...rebuild,
    ...pairs.map(([a, b]) => (byteLevel ? `${a} ${b}` : `${toByteLevel(a)} ${toByteLevel(b)}`)),
  ];
  const raw = h.model.source.rawConfig;
  const special = (typ: string, fallback?: number): number | undefined => {
    const fromConfig = raw[`${typ}_token_id`];
    return (
      specialId(cfg[`${typ}_token`], ids) ??
      (typeof fromConfig === 'number' ? fromConfig : Array.isArray(fromConfig) ? (fromConfig[0] as number) : fallback)
    );
  };
  const bos = special('bos');
  const out: [string, GgufValue][] = [
    ['tokenizer.ggml.model', str('gpt2')],
    ['tokenizer.ggml.pre', str(preTokenizerName(json))],
    ['tokenizer.ggml.tokens', arr('string', tokens)],
    ['tokenizer.ggml.token_type', arr('i32', types)],
    ['tokenizer.ggml.merges', arr('string', merges)],
  ];
  const ids4: [string, number | undefined][] = [
    ['bos_token_id', bos],
    ['eos_token_id', special('eos', h.eosId)],
    ['unknown_token_id', special('unk')],
    ['padding_token_id', special('pad', h.padId)],
  ];
  for (const [key, id] of ids4) if (id !== undefined && id < size) out.push([`tokenizer.ggml.${key}`, u32(id)]);
  const postText = JSON.stringify(json.post_processor ?? null);
  const addBos =
    typeof cfg.add_bos_token === 'boolean'
      ? cfg.add_bos_token
      : bos !== undefined && postText.includes(JSON.stringify(tokens[bos]));
  out.push(['tokenizer.ggml.add_bos_token', bool(addBos)]);
  if (typeof cfg.add_eos_token === 'boolean') out.push(['tokenizer.ggml.add_eos_token', bool(cfg.add_eos_token)]);
  const template = chatTemplate(cfg);
  if (template) out.push(['tokenizer.chat_template', str(template)]);
  return out;
}
