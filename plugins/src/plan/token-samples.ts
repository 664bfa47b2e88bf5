import { closeSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { Rng, type ValidatedGraph } from '@e3/core';
import { brownDataset } from '../data/brown.js';
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

/** Texts of up to SAMPLE records of data node `id`, for the plugins the plan can read cheaply. */
async function sampleTexts(graph: ValidatedGraph, id: string): Promise<string[] | undefined> {
  const node = graph.spec.nodes[id];
  const p = (node.params ?? {}) as Record<string, any>;
  if (node.plugin === 'data.jsonl') {
    const lines = head(resolve(p.path), 4 << 20)
      .split('\n')
      .slice(0, SAMPLE)
      .filter((l) => l.trim());
    return lines.flatMap((l) => {
      try {
        return [recordText(JSON.parse(l))];
      } catch {
        return []; // a partial last line of the sample, or a line the node itself will reject
      }
    });
  }
  if (node.plugin === 'data.brown') {
    const examples = await brownDataset(p as never, new Rng(0)).calibration(SAMPLE);
    return examples.map((e) => `${e.prompt}${e.answer}`);
  }
  return undefined;
}

/**
 * Token lengths of sampled records per data node and tokenizer, for the time plan: batches are
 * padded to their longest record, so their typical length (not the bound) sets the work. Data the
 * plan cannot sample, and models without a tokenizer.json, keep the bound.
 */
export async function sampleTokenLengths(
  graph: ValidatedGraph,
  tokenizerDirs: readonly string[],
): Promise<{ lengths(dataNode: string, tokenizerDir: string | undefined): number[] | undefined }> {
  const table = new Map<string, number[]>();
  for (const id of graph.order) {
    const texts = await sampleTexts(graph, id).catch(() => undefined);
    if (!texts?.length) continue;
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
  return { lengths: (id, dir) => (dir === undefined ? undefined : table.get(`${id}\n${dir}`)) };
}
