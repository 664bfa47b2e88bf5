import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '@e3/core';
import { readJsonFile } from '../model/json-file.js';
import { describeChars, loadTokenizer, type TextTokenizer } from '../model/tokenizer.js';
import type { Example } from './dataset.js';

/** What packing needs: a checkpoint's tokenizer, its end token, the row length. */
export interface Packer {
  readonly tokenizer: TextTokenizer;
  readonly eosId: number;
  readonly dir: string;
  readonly maxTokens: number;
}

/** The packer of the checkpoint directory `dir` (tokenizer.json, and where its end token is named). */
export async function loadPacker(dir: string, maxTokens: number): Promise<Packer> {
  const tokenizer = await loadTokenizer(dir);
  return { tokenizer, eosId: endToken(dir, tokenizer), dir, maxTokens };
}

/**
 * The end token, found as the model handle finds it: generation_config.json, then config.json
 * eos_token_id (the first when a list), then tokenizer_config.json eos_token.
 */
function endToken(dir: string, tok: TextTokenizer): number {
  for (const name of ['generation_config.json', 'config.json']) {
    const file = join(dir, name);
    if (!existsSync(file)) continue;
    const id = readJsonFile(file, name).eos_token_id;
    const first = Array.isArray(id) ? id[0] : id;
    if (typeof first === 'number') return first;
  }
  const cfgFile = join(dir, 'tokenizer_config.json');
  const eos = existsSync(cfgFile) ? readJsonFile(cfgFile, 'tokenizer_config.json').eos_token : undefined;
  const text = typeof eos === 'string' ? eos : (eos as { content?: string } | undefined)?.content;
  const id = text === undefined ? undefined : tok.tokenId(text);
  if (id !== undefined) return id;
  throw new UserError(
    `${dir}: packing joins documents with the end token, but neither config.json "eos_token_id" nor ` +
      'tokenizer_config.json "eos_token" names one (fix: point params.tokenizer at the full checkpoint directory)',
  );
}

/**
 * Plain-text documents packed into rows: each document's tokens then the end token, all
 * concatenated in the order added and cut every `maxTokens` tokens. Every row has exactly
 * maxTokens input tokens except the last, which keeps the remainder (no text is dropped).
 * Each row also carries the next id as its last position's label, so labels run across rows
 * and across documents (a document's last token predicts the end token, the end token the
 * next document's first). The ids are held in memory, 4 bytes a token.
 */
export class PackedRows {
  private ids = new Int32Array(1 << 16);
  private length = 0;
  private readonly docStarts: number[] = [];
  private readonly docLines: number[] = [];

  constructor(
    private readonly packer: Packer,
    private readonly path: string,
  ) {}

  /** Appends one document (line `line` of the file) and its end token. */
  add(text: string, line: number): void {
    const unknown = this.packer.tokenizer.unknownChars(text);
    if (unknown.length) {
      throw new UserError(
        `${this.path}:${line}: characters not in the tokenizer's vocabulary: ${describeChars(unknown)} ` +
          '(fix: remove or replace them in the data, or use a tokenizer that covers them)',
      );
    }
    const doc = this.packer.tokenizer.encode(text);
    this.reserve(doc.length + 1);
    this.docStarts.push(this.length);
    this.docLines.push(line);
    this.ids.set(doc, this.length);
    this.length += doc.length;
    this.ids[this.length++] = this.packer.eosId;
  }

  /** Rows: every one holds at least one input token and its label. */
  get count(): number {
    return Math.max(0, Math.ceil((this.length - 1) / this.packer.maxTokens));
  }

  /** Row `r`: maxTokens inputs (fewer in the last row) and the label-only id after them. */
  row(r: number): Example {
    const { maxTokens, tokenizer, dir } = this.packer;
    const start = r * maxTokens;
    const end = Math.min(start + maxTokens + 1, this.length);
    const tokens = { ids: Array.from(this.ids.subarray(start, end)), vocabSize: tokenizer.size, tokenizerDir: dir };
    return { prompt: '', answer: '', tokens, source: this.sourceOf(start, end) };
  }

  /** `d.jsonl:3,5`: the lines whose documents a token range covers (at most 5 named). */
  private sourceOf(start: number, end: number): string {
    const [first, last] = [this.docAt(start), this.docAt(end - 1)];
    const lines = this.docLines.slice(first, Math.min(last, first + 4) + 1);
    return `${this.path}:${lines.join(',')}${last > first + 4 ? ',…' : ''}`;
  }

  /** The document holding token `t` (binary search over the starts). */
  private docAt(t: number): number {
    let lo = 0,
      hi = this.docStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.docStarts[mid] <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private reserve(n: number): void {
    if (this.length + n <= this.ids.length) return;
    const grown = new Int32Array(Math.max(this.ids.length * 2, this.length + n));
    grown.set(this.ids.subarray(0, this.length));
    this.ids = grown;
  }
}
