import { openSync, readSync, fstatSync } from 'node:fs';
import { requirePath, Rng, UserError } from '@e3/core';
import type { TextTokenizer } from '../model/tokenizer.js';
import type { ChatRenderer } from './chat.js';
import { heldoutOrigin, stepIndexedBatches, type Dataset, type Example } from './dataset.js';
import { PackedRows, type Packer } from './pack.js';

export interface JsonlParams {
  path: string;
  heldoutFraction: number;
  promptField: string;
  answerField: string;
  textField: string;
  messagesField: string;
  /** Checkpoint directory whose tokenizer packs and whose chat template renders {messages}. */
  tokenizer?: string;
  /** Rows (packed) or records (not packed) keep at most this many input tokens. */
  maxTokens?: number;
  /** Join {text} records, end token between, into rows of exactly maxTokens tokens. */
  pack: boolean;
}

/** What some records need beyond the file: a chat template, a packing tokenizer. */
export interface JsonlTools {
  chat?: ChatRenderer;
  packer?: Packer;
  /** The tokenizer that counts what a {prompt, answer} or chat record needs of maxTokens (not packed). */
  counter?: TextTokenizer;
}

/** What a line holds: the example, and whether it was plain text (the only kind packing joins). */
interface JsonlRecord {
  example: Example;
  kind: 'text' | 'pair' | 'chat';
}

/** Who reads the file (for errors) and where notes go. */
export interface JsonlContext {
  node?: string;
  note?: (message: string) => void;
}

/** The records of a file: byte ranges and line numbers (one number each, memory stays small). */
interface Index {
  starts: number[];
  ends: number[];
  lines: number[];
  empty: number[];
  /** Records whose prompt and whole answer take more than maxTokens tokens: line and tokens needed. */
  over: { line: number; tokens: number }[];
}

const NEED = 'data.jsonl needs a JSONL file, one JSON object per line';

/**
 * A JSONL dataset that keeps only byte offsets and line numbers in memory: one pass checks
 * every line with the same parser that later reads records back from disk (parseJsonlLine),
 * so a line that passes the check cannot fail mid-run, and every example keeps its file:line.
 * Records are `{prompt, answer}` (loss on the answer) or `{text}` (loss on the whole text);
 * empty records (no characters at all) are skipped and counted.
 */
export function jsonlDataset(p: JsonlParams, rng: Rng, context: JsonlContext = {}, tools: JsonlTools = {}): Dataset {
  requirePath(p.path, 'file', 'data file', NEED);
  const fd = openSync(p.path, 'r');
  const { size, mtimeMs } = fstatSync(fd);
  const { starts, ends, lines, empty, over } = indexLines(fd, size, p, tools);
  reportEmpty(p.path, empty, starts.length, context);
  refuseCutAnswers(p, over, context);
  const order = rng.fork('split').shuffle([...starts.keys()]);
  const nHeld = Math.min(starts.length - 1, Math.round(starts.length * p.heldoutFraction));
  const held = order.slice(0, nHeld).sort((a, b) => a - b);
  const train = order.slice(nHeld).sort((a, b) => a - b);
  const parse = (i: number) => {
    const where = `${p.path}:${lines[i]}`;
    unchanged(fd, { size, mtimeMs }, where);
    return parseJsonlLine(readRange(fd, starts[i], ends[i]), p, where, tools)!;
  };
  const records = `${starts.length} record${starts.length === 1 ? '' : 's'}`;
  const fingerprint =
    `jsonl:${p.path}:${size}:${starts.length}:${p.heldoutFraction}:${rng.fork('fingerprint').nextUint32()}` +
    (p.maxTokens === undefined ? '' : `:max${p.maxTokens}${p.pack ? `:pack:${p.tokenizer}` : ''}`);
  if (tools.packer) {
    const pack = (idx: number[]) => packRows(idx, parse, lines, tools.packer!, p.path);
    const [trainRows, heldRows] = [pack(train), pack(held)];
    const origin = `${records} in ${p.path}, packed into rows of ${p.maxTokens} tokens`;
    return {
      fingerprint,
      trainSize: trainRows.count,
      heldoutSize: heldRows.count,
      heldoutOrigin: heldoutOrigin(context.node, p.heldoutFraction, origin),
      trainBatch: stepIndexedBatches(trainRows.count, rng.fork('train'), async (idx) =>
        idx.map((r) => trainRows.row(r)),
      ),
      heldout: async (limit) =>
        [...Array(Math.min(limit ?? heldRows.count, heldRows.count)).keys()].map((r) => heldRows.row(r)),
      calibration: async (limit) => [...Array(Math.min(limit, trainRows.count)).keys()].map((r) => trainRows.row(r)),
    };
  }
  const read = (i: number): Example => {
    const e = parse(i).example;
    return p.maxTokens === undefined ? e : { ...e, maxTokens: p.maxTokens };
  };
  return {
    fingerprint,
    trainSize: train.length,
    heldoutSize: held.length,
    heldoutOrigin: heldoutOrigin(context.node, p.heldoutFraction, `${records} in ${p.path}`),
    trainBatch: stepIndexedBatches(train.length, rng.fork('train'), async (idx) => idx.map((i) => read(train[i]))),
    heldout: async (limit) => held.slice(0, limit ?? held.length).map(read),
    calibration: async (limit) => train.slice(0, limit).map(read),
  };
}

/** One pass over the file: every line parsed and checked; the ranges of non-empty records kept. */
function indexLines(fd: number, size: number, p: JsonlParams, tools: JsonlTools): Index {
  const index: Index = { starts: [], ends: [], lines: [], empty: [], over: [] };
  const check = (s: number, e: number, line: number) => {
    const where = `${p.path}:${line}`;
    const r = parseJsonlLine(readRange(fd, s, e), p, where, tools);
    if (!r) return;
    if (tools.packer && r.kind !== 'text') {
      throw new UserError(
        `${where}: pack: true joins plain {"${p.textField}": ...} records, but this one is a ${r.kind} record ` +
          '(fix: set pack: false to cut each record to maxTokens instead, or keep such records in another file)',
      );
    }
    const ex = r.example;
    if (!ex.prompt && !ex.answer) {
      index.empty.push(line);
      return;
    }
    index.starts.push(s);
    index.ends.push(e);
    index.lines.push(line);
    if (tools.counter && r.kind !== 'text' && p.maxTokens !== undefined && !p.pack) {
      const tokens = tools.counter.encode(ex.prompt).length + tools.counter.encode(ex.answer).length;
      if (tokens > p.maxTokens) index.over.push({ line, tokens });
    }
  };
  const chunk = Buffer.alloc(1 << 20);
  let pos = 0,
    lineStart = 0,
    line = 1;
  while (pos < size) {
    const n = readSync(fd, chunk, 0, chunk.length, pos);
    for (let i = chunk.indexOf(0x0a); i >= 0 && i < n; i = chunk.indexOf(0x0a, i + 1)) {
      check(lineStart, pos + i, line);
      lineStart = pos + i + 1;
      line++;
    }
    pos += n;
  }
  check(lineStart, size, line);
  return index;
}

/** Logs the skipped empty records; fails when nothing else is left. */
function reportEmpty(path: string, empty: number[], kept: number, context: JsonlContext): void {
  const at = `line${empty.length === 1 ? '' : 's'} ${empty.slice(0, 10).join(', ')}${empty.length > 10 ? ', …' : ''}`;
  if (!kept && empty.length) {
    throw new UserError(
      `${path}:${empty[0]}: every record is empty (${empty.length}, ${at}); nothing to train or ` +
        'evaluate on (fix: give records a non-empty "prompt"/"answer" or "text")',
    );
  }
  if (!kept) throw new UserError(`${path}: no records (expected one JSON object per line)`);
  if (empty.length)
    context.note?.(`${path}: skipped ${empty.length} empty record${empty.length === 1 ? '' : 's'} (${at})`);
}

/**
 * Refuses a cut that reaches into answers: a {prompt, answer} or chat record is one exact answer,
 * and cutting it would train one answer and score another (or train nothing when the prompt alone
 * fills maxTokens). {text} records are cut as documented; packing drops no token.
 */
function refuseCutAnswers(p: JsonlParams, over: Index['over'], context: JsonlContext): void {
  if (!over.length) return;
  const longest = over.reduce((a, b) => (b.tokens > a.tokens ? b : a));
  const n = over.length;
  const field = `${context.node ? `node "${context.node}" ` : ''}field "params.maxTokens"`;
  throw new UserError(
    `${p.path}:${over[0].line}: this record needs ${over[0].tokens} tokens for its prompt and whole answer, but ` +
      `${field} = ${p.maxTokens} would cut its answer; ${n} record${n === 1 ? '' : 's'} ` +
      `${n === 1 ? 'does' : 'do'} (the longest, line ${longest.line}, needs ${longest.tokens}) ` +
      `(fix: set maxTokens: ${longest.tokens} or more, or shorten or remove ${n === 1 ? 'it' : 'them'})`,
  );
}

/**
 * Fails unless the file is as it was when its records were checked: records are read back from
 * disk by byte range, so a file truncated or rewritten in place mid-run would hand out the wrong
 * bytes (read as "not valid JSON", or worse, as another record). A file replaced by renaming is
 * fine: the open descriptor still reads the old one.
 */
function unchanged(fd: number, then: { size: number; mtimeMs: number }, where: string): void {
  const now = fstatSync(fd);
  if (now.size === then.size && now.mtimeMs === then.mtimeMs) return;
  const how =
    now.size < then.size
      ? `truncated from ${then.size} to ${now.size} bytes`
      : now.size > then.size
        ? `grown from ${then.size} to ${now.size} bytes`
        : `rewritten (same ${now.size} bytes, modified ${new Date(now.mtimeMs).toISOString()})`;
  throw new UserError(
    `${where}: the data file changed while the run was reading it: ${how} since its records were checked at the ` +
      'start (fix: leave a data file alone while a run reads it: write changes to a new file and rerun on it)',
  );
}

function readRange(fd: number, s: number, e: number): Buffer {
  const b = Buffer.alloc(Math.max(e - s, 0));
  readSync(fd, b, 0, b.length, s);
  return b;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The one parser of a JSONL line, for the up-front check and for reading records back:
 * strict UTF-8, then a BOM and surrounding Unicode whitespace (String.prototype.trim: NBSP,
 * U+2028, \r, …) removed. Returns undefined for a blank line; errors name `where` (file:line).
 */
export function parseJsonlLine(
  bytes: Uint8Array,
  p: JsonlParams,
  where: string,
  tools: JsonlTools = {},
): JsonlRecord | undefined {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw notUtf8(bytes, where);
  }
  text = text.replace(/^\uFEFF/, '').trim();
  if (!text) return undefined;
  const r = toRecord(text, p, where, tools);
  return { kind: r.kind, example: { ...r.example, source: where } };
}

/** Whether `bytes` decode; `stream`: an unfinished sequence at the end is allowed. */
function decodes(bytes: Uint8Array, stream: boolean): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream });
    return true;
  } catch {
    return false;
  }
}

/**
 * Index of the first byte that starts no valid UTF-8: the longest prefix that decodes in
 * streaming mode (binary search) ends where decoding broke; if that prefix ends in an
 * unfinished sequence, the sequence's lead byte is the culprit.
 */
function firstBadByte(bytes: Uint8Array): number {
  let lo = 0,
    hi = bytes.length;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (decodes(bytes.subarray(0, mid), true)) lo = mid;
    else hi = mid;
  }
  if (decodes(bytes.subarray(0, lo), false)) return lo;
  let lead = lo - 1;
  while (lead > 0 && (bytes[lead] & 0xc0) === 0x80) lead--;
  return lead;
}

/** Names the line and its first byte that is not UTF-8. */
function notUtf8(bytes: Uint8Array, where: string): UserError {
  const at = firstBadByte(bytes);
  const byte = bytes[at].toString(16).toUpperCase().padStart(2, '0');
  return new UserError(
    `${where}: not valid UTF-8 (byte 0x${byte} at byte ${at + 1} of the line) ` +
      '(fix: save the file as UTF-8, e.g. `iconv -f latin1 -t utf-8 in.jsonl > out.jsonl`)',
  );
}

/** The records of a split, in file order, packed into rows. */
function packRows(
  idx: number[],
  parse: (i: number) => JsonlRecord,
  lines: number[],
  packer: Packer,
  path: string,
): PackedRows {
  const rows = new PackedRows(packer, path);
  for (const i of idx) rows.add(parse(i).example.answer, lines[i]);
  return rows;
}

function toRecord(text: string, p: JsonlParams, where: string, tools: JsonlTools): JsonlRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${where}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UserError(`${where}: expected a JSON object`);
  const r = v as Record<string, unknown>;
  if (p.messagesField in r) return { kind: 'chat', example: chatExample(r[p.messagesField], p, where, tools) };
  if (
    typeof r[p.promptField] === 'string' &&
    (typeof r[p.answerField] === 'string' || typeof r[p.answerField] === 'number')
  )
    return { kind: 'pair', example: { prompt: r[p.promptField] as string, answer: String(r[p.answerField]) } };
  if (typeof r[p.textField] === 'string')
    return { kind: 'text', example: { prompt: '', answer: r[p.textField] as string } };
  throw new UserError(
    `${where}: a record needs "${p.promptField}" and "${p.answerField}" strings, a "${p.textField}" string, ` +
      `or a "${p.messagesField}" list (got keys: ${Object.keys(r).join(', ') || 'none'})`,
  );
}

function chatExample(messages: unknown, p: JsonlParams, where: string, tools: JsonlTools): Example {
  if (!tools.chat) {
    throw new UserError(
      `${where}: a "${p.messagesField}" record is rendered with a checkpoint's chat template, but the data node ` +
        "names no checkpoint (fix: set params.tokenizer to the model's checkpoint directory)",
    );
  }
  return tools.chat.render(messages, where);
}
