import { openSync, readSync, fstatSync } from "node:fs";
import { Rng, UserError } from '@e3/core';
import { stepIndexedBatches, type Dataset, type Example } from './dataset.js';

export interface JsonlParams { path: string; heldoutFraction: number; promptField: string; answerField: string; textField: string }

/**
 * A JSONL dataset that keeps only byte offsets in memory (8 bytes a record): one pass checks
 * every line (bad JSON or a record without prompt/answer or text fails with file:line),
 * records are read back from disk when a batch needs them. Records are
 * `{prompt, answer}` (loss on the answer) or `{text}` (loss on the whole text).
 */
export function jsonlDataset(p: JsonlParams, rng: Rng): Dataset {
  const fd = (() => { try { return openSync(p.path, 'r'); } catch { throw new UserError(`${p.path}: cannot open the JSONL file`); } })();
  const size = fstatSync(fd).size;
  const starts: number[] = [];
  const ends: number[] = [];
  const chunk = Buffer.alloc(1 << 20);
  let pos = 0, lineStart = 0, line = 1;
  const check = (s: number, e: number, lineNo: number) => {
    if (e <= s) return;
    const text = readRange(fd, s, e).trim();
    if (!text) return;
    toExample(text, p, `${p.path}:${lineNo}`);
    starts.push(s); ends.push(e);
  };
  while (pos < size) {
    const n = readSync(fd, chunk, 0, chunk.length, pos);
    for (let i = 0; i < n; i++) {
      if (chunk[i] === 0x0a) { check(lineStart, pos + i, line); lineStart = pos + i + 1; line++; }
    }
    pos += n;
  }
  check(lineStart, size, line);
  if (!starts.length) throw new UserError(`${p.path}: no records (expected one JSON object per line)`);
  const order = rng.fork('split').shuffle([...starts.keys()]);
  const nHeld = Math.min(starts.length - 1, Math.round(starts.length * p.heldoutFraction));
  const held = order.slice(0, nHeld).sort((a, b) => a - b);
  const train = order.slice(nHeld).sort((a, b) => a - b);
  const read = (i: number) => toExample(readRange(fd, starts[i], ends[i]), p, p.path);
  return {
    fingerprint: `jsonl:${p.path}:${size}:${starts.length}:${p.heldoutFraction}:${rng.fork('fingerprint').nextUint32()}`,
    trainSize: train.length,
    trainBatch: stepIndexedBatches(train.length, rng.fork('train'), async (idx) => idx.map((i) => read(train[i]))),
    heldout: async (limit) => held.slice(0, limit ?? held.length).map(read),
    calibration: async (limit) => train.slice(0, limit).map(read),
  };
}

function readRange(fd: number, s: number, e: number): string {
  const b = Buffer.alloc(e - s);
  readSync(fd, b, 0, b.length, s);
  return b.toString('utf8');
}

function toExample(text: string, p: JsonlParams, where: string): Example {
  let v: unknown;
  try { v = JSON.parse(text); } catch (e) { throw new UserError(`${where}: not valid JSON (${(e as Error).message})`); }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UserError(`${where}: expected a JSON object`);
  const r = v as Record<string, unknown>;
  if (typeof r[p.promptField] === 'string' && (typeof r[p.answerField] === 'string' || typeof r[p.answerField] === 'number')) return { prompt: r[p.promptField] as string, answer: String(r[p.answerField]) };
  if (typeof r[p.textField] === 'string') return { prompt: '', answer: r[p.textField] as string };
  throw new UserError(`${where}: a record needs "${p.promptField}" and "${p.answerField}" strings, or a "${p.textField}" string (got keys: ${Object.keys(r).join(', ') || 'none'})`);
}
