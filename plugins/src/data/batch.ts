import { UserError } from '@e3/core';
import { requireTokenizer, type ModelHandle } from '../model/handle.js';
import { describeChars, type TextTokenizer } from '../model/tokenizer.js';
import type { Example } from './dataset.js';

/**
 * A tokenised, right-padded batch. `labels[b][t]` is the id the model should predict at
 * position t (the next token), or −1 where no loss applies (prompt, padding).
 */
export interface Batch {
  readonly ids: number[][];
  readonly labels: number[][];
  readonly attention: number[][];
  readonly tokens: number;
}

/** What encoding text needs of a model. */
export interface TextCodec {
  readonly tokenizer: TextTokenizer;
  readonly eosId: number;
  readonly padId: number;
  /** The model's context (config max_position_embeddings): longer records are cut to it. */
  readonly maxTokens?: number;
  /** Where the records cut so far come from (file:line, or their start), for the log. */
  readonly cut?: Set<string>;
}

/**
 * The codec of a model. Records are cut to the model's context here, where examples become
 * tokens: the data nodes do not know the model (a Dataset travels to several models), and
 * every consumer (teacher cache, search, distiller, evaluator) encodes through encodeBatch,
 * so teacher targets and student batches see the same cut.
 */
export function textCodec(h: ModelHandle, who: string): TextCodec & { cut: Set<string> } {
  const maxTokens = h.model.config.maxPositionEmbeddings;
  return { tokenizer: requireTokenizer(h, who), eosId: h.eosId, padId: h.padId, maxTokens, cut: new Set() };
}

/** "3 records longer than the model's context (64 tokens) were cut to it (x.jsonl:4, …)", or nothing. */
export function describeCuts(c: TextCodec): string | undefined {
  const n = c.cut?.size ?? 0;
  if (!n) return undefined;
  const where = [...c.cut!].slice(0, 5).join(', ') + (n > 5 ? ', …' : '');
  return (
    `${n} record${n === 1 ? ' was' : 's were'} longer than the model's context (${c.maxTokens} tokens) ` +
    `and cut to it (${where})`
  );
}

/**
 * Characters kept of a field before tokenising: a token rarely spans 16 characters, so the cut
 * to the context in tokens is still exact, while a 50 MB record costs no more than a short one.
 */
const CHARS_PER_TOKEN = 16;

/** The first `n` characters, not splitting a surrogate pair. */
function clip(text: string, n: number): string {
  if (text.length <= n) return text;
  const code = text.charCodeAt(n - 1);
  return text.slice(0, code >= 0xd800 && code < 0xdc00 ? n - 1 : n);
}

function whereOf(e: Example): string {
  return e.source ?? `example ${JSON.stringify((e.prompt + e.answer).slice(0, 40))}`;
}

/** Prompt and answer ids of one example; characters the tokenizer cannot encode are an error. */
function encodeExample(e: Example, c: TextCodec): { prompt: number[]; answer: number[] } {
  const chars = (c.maxTokens ?? Infinity) * CHARS_PER_TOKEN;
  const [prompt, answer] = [clip(e.prompt, chars), clip(e.answer, chars)];
  const unknown = c.tokenizer.unknownChars(prompt + answer);
  if (unknown.length) {
    throw new UserError(
      `${whereOf(e)}: characters not in the tokenizer's vocabulary: ${describeChars(unknown)} ` +
        '(fix: remove or replace them in the data, or use a model whose tokenizer covers them, ' +
        'such as a byte-level one)',
    );
  }
  const ids = { prompt: c.tokenizer.encode(prompt), answer: c.tokenizer.encode(answer) };
  if (!ids.prompt.length && !ids.answer.length) {
    throw new UserError(
      `${whereOf(e)}: the record encodes to no tokens ` + '(fix: remove it, or give it text the tokenizer keeps)',
    );
  }
  return ids;
}

/**
 * prompt + answer + eos, cut to the record's maxTokens and the context (+1: the last id is only
 * a label); a packed row is used as it is, cut to the context only.
 */
function sequence(e: Example, c: TextCodec, promptLoss: boolean): { ids: number[]; start: number } {
  if (e.tokens) return { ids: cutToContext(packedIds(e, c), e, c), start: 0 };
  const { prompt, answer } = encodeExample(e, c);
  const ids = [...prompt, ...answer, c.eosId];
  if (e.maxTokens !== undefined && ids.length > e.maxTokens + 1) {
    // A record with a prompt is one exact answer: a cut into it would train another answer than the one scored.
    if (e.prompt) throw cutAnswer(e, prompt.length + answer.length);
    ids.length = e.maxTokens + 1;
  }
  return { ids: cutToContext(ids, e, c), start: promptLoss ? 0 : prompt.length - 1 };
}

/** The error of a {prompt, answer} or chat record longer than its maxTokens (jsonl.ts refuses it up front). */
function cutAnswer(e: Example, tokens: number): UserError {
  return new UserError(
    `${whereOf(e)}: this record needs ${tokens} tokens for its prompt and whole answer, but the data node's ` +
      `maxTokens = ${e.maxTokens} would cut its answer (fix: set maxTokens: ${tokens} or more, or shorten or ` +
      'remove the record; `e3 validate` lists every such record)',
  );
}

function cutToContext(ids: number[], e: Example, c: TextCodec): number[] {
  const keep = (c.maxTokens ?? Infinity) + 1;
  if (ids.length > keep) {
    ids.length = keep;
    c.cut?.add(whereOf(e));
  }
  return ids;
}

/** The ids of a packed row, after checking they come from the model's tokenizer (same size). */
function packedIds(e: Example, c: TextCodec): number[] {
  const t = e.tokens!;
  if (t.vocabSize !== c.tokenizer.size) {
    throw new UserError(
      `${whereOf(e)}: packed with the tokenizer in ${t.tokenizerDir} (${t.vocabSize} tokens), but the model's ` +
        `tokenizer has ${c.tokenizer.size} (fix: set the data node's params.tokenizer to the model's checkpoint ` +
        'directory)',
    );
  }
  return [...t.ids];
}

/**
 * prompt + answer + eos, right-padded to the longest; loss on the answer and the end token
 * only (`promptLoss` adds loss on prompt tokens too, for plain-text data).
 */
export function encodeBatch(examples: readonly Example[], codec: TextCodec, promptLoss = false): Batch {
  const seqs = examples.map((e) => sequence(e, codec, promptLoss));
  const t = Math.max(...seqs.map((s) => s.ids.length)) - 1;
  const ids: number[][] = [];
  const labels: number[][] = [];
  const attention: number[][] = [];
  let tokens = 0;
  for (const s of seqs) {
    const row = s.ids.slice(0, -1);
    const lab = s.ids.slice(1).map((id, i) => (i >= s.start ? id : -1));
    tokens += row.length;
    ids.push([...row, ...Array(t - row.length).fill(codec.padId)]);
    labels.push([...lab, ...Array(t - lab.length).fill(-1)]);
    attention.push([...Array(row.length).fill(1), ...Array(t - row.length).fill(0)]);
  }
  return { ids, labels, attention, tokens };
}
