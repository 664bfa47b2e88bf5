import { closeSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { Rng, type ValidatedGraph } from '@e3/core';
import { brownDataset } from '../data/brown.js';
import type { JsonlParams } from '../data/jsonl.js';
import { loadTokenizer } from '../model/tokenizer.js';

/** Records read from each text data node for the sample. */
const SAMPLE = 512;

/** The first bytes of a file, as text (a sample of a large JSONL file). */
function head(path: string, bytes: number): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    return buf.subarray(0, readSync(fd, buf, 0, bytes, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Every string inside a JSONL record (text, prompt and answer, message contents), joined. */
function recordText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(recordText).join(' ');
  if (v && typeof v === 'object') return Object.values(v).map(recordText).join(' ');
  return '';
}

/** A sampled record: its text, and whether it has a prompt to answer (the evaluator generates for those). */
interface SampledRecord {
  readonly text: string;
  readonly prompted: boolean;
}

/** Whether a JSONL record is asked something: a chat, or a prompt with an answer (jsonl.ts's rule). */
function isPrompted(r: unknown, p: Partial<JsonlParams>): boolean {
  if (!r || typeof r !== 'object' || p.pack) return false;
  const rec = r as Record<string, unknown>;
  if ((p.messagesField ?? 'messages') in rec) return true;
  const answer = rec[p.answerField ?? 'answer'];
  return (
    typeof rec[p.promptField ?? 'prompt'] === 'string' && (typeof answer === 'string' || typeof answer === 'number')
  );
}

/** Up to SAMPLE records of data node `id`, for the plugins the plan can read cheaply. */
async function sampleRecords(graph: ValidatedGraph, id: string): Promise<SampledRecord[] | undefined> {
  const node = graph.spec.nodes[id];
  const p = (node.params ?? {}) as Partial<JsonlParams>;
  if (node.plugin === 'data.jsonl') {
    const lines = head(resolve(String(p.path)), 4 << 20)
      .split('\n')
      .slice(0, SAMPLE)
      .filter((l) => l.trim());
    return lines.flatMap((l) => {
      try {
        const r: unknown = JSON.parse(l);
        return [{ text: recordText(r), prompted: isPrompted(r, p) }];
      } catch {
        return []; // a partial last line of the sample, or a line the node itself will reject
      }
    });
  }
  if (node.plugin === 'data.brown') {
    const examples = await brownDataset(p as never, new Rng(0)).calibration(SAMPLE);
    return examples.map((e) => ({ text: `${e.prompt}${e.answer}`, prompted: e.prompt.length > 0 }));
  }
  return undefined;
}

/** What the time plan learns from a sample of each data node's records. */
export interface TokenSamples {
  /** Token lengths of the records for a model's tokenizer (undefined: not sampled). */
  lengths(dataNode: string, tokenizerDir: string | undefined): number[] | undefined;
  /** The share of records with a prompt to answer (undefined: not sampled). */
  promptedShare(dataNode: string): number | undefined;
}

/**
 * Token lengths of sampled records per data node and tokenizer, for the time plan: batches are
 * padded to their longest record, so their typical length (not the bound) sets the work. Data the
 * plan cannot sample, and models without a tokenizer.json, keep the bound. Also the share of
 * records with prompts: plain text has nothing for the evaluator to answer.
 */
export async function sampleTokenLengths(
  graph: ValidatedGraph,
  tokenizerDirs: readonly string[],
): Promise<TokenSamples> {
  const table = new Map<string, number[]>();
  const prompted = new Map<string, number>();
  for (const id of graph.order) {
    const records = await sampleRecords(graph, id).catch(() => undefined);
    if (!records?.length) continue;
    prompted.set(id, records.filter((r) => r.prompted).length / records.length);
    const texts = records.map((r) => r.text);
    for (const dir of tokenizerDirs) {
      const tok = await loadTokenizer(dir).catch(() => undefined);
      // + 2: the begin and end tokens batch.ts adds around a record.
      if (tok)
        table.set(
          `${id}\n${dir}`,
          texts.map((t) => tok.encode(t).length + 2),
        );
    }
  }
  return {
    lengths: (id, dir) => (dir === undefined ? undefined : table.get(`${id}\n${dir}`)),
    promptedShare: (id) => prompted.get(id),
  };
}
