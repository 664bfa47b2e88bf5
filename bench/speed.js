#!/usr/bin/env node
// Table 4 — speed of an exported pruned checkpoint against the original, measured side by side
// in one process (same prompts, warm-up, median of repeats): prefill and decode tokens/s, the
// ratio, the ideal L/K, and the memory the weights take.
//   node bench/speed.js [--quick] [--drop 4,5,6,7]
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng } from '@e3/core';
import * as tf from '@tensorflow/tfjs-core';
import { arithmeticDataset, loadCheckpoint, measureSpeed } from '@e3/plugins';
import { TEACHER } from './lib/pipeline.js';
import { arg, benchCli, fmt, header, QUICK, ROOT, table, writeResult } from './lib/table.js';
benchCli(
  'usage: node bench/speed.js [--quick] [--drop 6,7] [--backend auto]\n  Table 4: speed of an exported pruned checkpoint; writes bench/results/speed.md.',
  {
    drop: { type: 'string', description: 'layers to drop (the 4,5,6,7 row is always measured too)', default: '6,7' },
    backend: { type: 'string', description: 'tfjs backend', default: 'auto' },
  },
);

const backend = await initBackend(arg('backend', 'auto'));
const rows = [];
for (const drop of QUICK ? ['6,7'] : [arg('drop', '6,7'), '4,5,6,7'].filter((v, i, a) => a.indexOf(v) === i)) {
  const out = join(mkdtempSync(join(tmpdir(), 'e3-speed-')), 'pruned');
  process.stderr.write(`[bench] pruning layers ${drop} and measuring prefill/decode …\n`);
  execFileSync(
    process.execPath,
    [join(ROOT, 'bin/e3.js'), 'prune', '--model', TEACHER, '--drop', drop, '--out', out, '--backend', backend.name],
    { stdio: 'ignore' },
  );
  const before = tf.memory().numBytes;
  const original = await loadCheckpoint(TEACHER);
  const mid = tf.memory().numBytes;
  const pruned = await loadCheckpoint(out);
  const after = tf.memory().numBytes;
  const held = await arithmeticDataset(
    { ops: ['+', '-'], maxOperand: 99, heldoutFraction: 0.1, splitSeed: 1234 },
    new Rng(0),
  ).heldout(64);
  const prompts = held.map((e) => original.tokenizer.encode(e.prompt));
  for (const [batch, newTokens] of QUICK
    ? [[8, 4]]
    : [
        [1, 32],
        [64, 16],
      ]) {
    const [p, o] = await measureSpeed([pruned, original], prompts.slice(0, batch), newTokens, QUICK ? 1 : 7);
    const L = original.model.numLayers,
      K = pruned.model.numLayers;
    rows.push([
      `${L} → ${K} (drop ${drop})`,
      batch,
      fmt(o.prefillTokensPerSecond, 0),
      fmt(p.prefillTokensPerSecond, 0),
      fmt(p.prefillTokensPerSecond / o.prefillTokensPerSecond, 2) + '×',
      fmt(o.decodeTokensPerSecond, 0),
      fmt(p.decodeTokensPerSecond, 0),
      fmt(p.decodeTokensPerSecond / o.decodeTokensPerSecond, 2) + '×',
      fmt(L / K, 2) + '×',
      `${((mid - before) / 2 ** 20).toFixed(2)} → ${((after - mid) / 2 ** 20).toFixed(2)} MiB`,
    ]);
  }
  original.dispose();
  pruned.dispose();
}
writeResult(
  QUICK ? 'speed.quick' : 'speed',
  header('Table 4 — speed of the exported pruned checkpoint', { backend: backend.name, repeats: QUICK ? 1 : 7 }) +
    '\nBoth checkpoints loaded from disk into one process; rounds alternate the two models; medians. Decoding is greedy with a KV cache.\n\n' +
    table(
      [
        'layers',
        'batch',
        'original prefill tok/s',
        'pruned prefill tok/s',
        'prefill ratio',
        'original decode tok/s',
        'pruned decode tok/s',
        'decode ratio',
        'ideal L/K',
        'weights in memory',
      ],
      rows,
    ) +
    '\n',
);
