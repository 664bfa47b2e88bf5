#!/usr/bin/env node
// Table 1 — mask quality before recovery: E³ search vs training-free baselines vs the exhaustive
// oracle, pruning 25%, 37.5% and 50% of the shipped teacher's layers. The runs are the sweep
// bench/sweeps/mask-quality.yaml, one per ratio (its `e3 compare` table is included).
//   node bench/mask-quality.js [--quick] [--parallel 2]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, Rng } from '@e3/core';
import { brownDataset, heldoutLikelihood, cloneHandle, loadCheckpoint } from '@e3/plugins';
import { TEACHER } from './lib/pipeline.js';
import { sweep } from './lib/sweep.js';
import { arg, benchCli, fmt, header, median, pct, QUICK, table, writeResult } from './lib/table.js';
benchCli(
  'usage: node bench/mask-quality.js [--quick] [--ratios 0.25,0.375,0.5]\n  Table 1: mask quality before recovery; writes bench/results/<name>.md.',
  {
    ratios: { type: 'string', description: 'prune ratios, comma-separated', default: '0.25,0.375,0.5' },
    name: { type: 'string', description: 'results file name', default: 'mask-quality' },
    calibration: { type: 'string', description: 'calibration examples for every method' },
    text: { type: 'boolean', description: "also each mask's perplexity on held-out Brown sentences" },
    parallel: { type: 'string', description: 'sweep points run at once', default: '1' },
  },
);

const ratios = arg('ratios') ? arg('ratios').split(',').map(Number) : QUICK ? [0.25] : [0.25, 0.375, 0.5];
const name = arg('name', 'mask-quality');
// --calibration N: fewer calibration examples for every method (the oracle of a deep model is C(L, K) evaluations).
const calib = arg('calibration');
const quickSets = QUICK ? ['vars.searchSteps=10', 'vars.searchRestarts=1', 'nodes.eval.params.examples=40'] : [];

await initBackend('auto');
const teacher = await loadCheckpoint(TEACHER);
// With --text (a teacher that also models English), each mask's perplexity on held-out Brown sentences too.
const textHeld = process.argv.includes('--text')
  ? await brownDataset({ maxChars: 48, heldoutFraction: 0.05, splitSeed: 1234, limit: 0 }, new Rng(0)).heldout(
      QUICK ? 20 : 300,
    )
  : undefined;
const textPpl = async (mask) => {
  if (!textHeld) return undefined;
  const p = cloneHandle(
    teacher,
    mask.flatMap((m, i) => (m ? [i] : [])),
  );
  try {
    return (await heldoutLikelihood(p, textHeld)).perplexity;
  } finally {
    p.dispose();
  }
};

const sections = [];
const summary = [];
let facts;
for (const ratio of ratios) {
  const s = sweep('bench/sweeps/mask-quality.yaml', {
    sets: [
      `vars.teacher=${TEACHER}`,
      `vars.pruneRatio=${ratio}`,
      ...(calib ? [`vars.calibration=${calib}`] : []),
      ...quickSets,
    ],
    seeds: QUICK ? [0] : undefined,
    parallel: Number(arg('parallel', '1')),
  });
  const rows = [];
  for (const p of s.state.points) {
    const rep = s.reports[p.id];
    const m = rep.mask;
    rows.push({
      method: p.settings.overlay,
      seed: p.seed,
      removed: m.details.removed,
      calibKl: m.details.calibrationKl,
      kl: rep.model.klToTeacher,
      perplexity: rep.model.perplexity,
      accuracy: rep.model.accuracy,
      textPpl: await textPpl(m.mask),
      wall: m.details.wallSeconds,
      passes: m.details.forwardPasses,
      mask: m.mask.join(''),
    });
  }
  facts ??= {
    backend: JSON.parse(readFileSync(join(s.dir, s.state.points[0].dir, 'run.json'), 'utf8')).backend,
    'held-out examples': s.reports[s.state.points[0].id].model.examples,
  };
  const oracle = rows.find((r) => r.method === 'exhaustive-oracle');
  const e3 = rows.filter((r) => r.method === 'e3-search');
  const baselines = rows.filter((r) => !['exhaustive-oracle', 'e3-search', 'random'].includes(r.method));
  const e3Median = median(e3.map((r) => r.kl));
  const randomMedian = median(rows.filter((r) => r.method === 'random').map((r) => r.kl));
  const bestBaseline = Math.min(...baselines.map((r) => r.kl));
  const L = teacher.model.numLayers;
  sections.push(
    `## ${ratio * 100}% of layers removed (${Math.round(ratio * L)} of ${L})\n\n` +
      table(
        [
          'method',
          'seed',
          'layers removed',
          'calibration KL',
          'held-out KL',
          'perplexity',
          'exact match',
          ...(textHeld ? ['text perplexity'] : []),
          'mask wall s',
          'forward passes',
          'KL / oracle',
        ],
        rows.map((r) => [
          r.method,
          r.seed,
          r.removed.join(','),
          fmt(r.calibKl),
          fmt(r.kl),
          fmt(r.perplexity, 3),
          pct(r.accuracy),
          ...(textHeld ? [fmt(r.textPpl, 2)] : []),
          fmt(r.wall, 1),
          r.passes,
          fmt(r.kl / oracle.kl, 2),
        ]),
      ) +
      `\n\nE³ search median held-out KL ${fmt(e3Median)} = ${fmt(e3Median / oracle.kl, 3)} × the oracle's; best training-free baseline ${fmt(bestBaseline)}; random median ${fmt(randomMedian)}. Seeds finding the oracle's mask: ${e3.filter((r) => r.mask === oracle.mask).length}/${e3.length}.\n\n` +
      'Per method, mean ± sd over its seeds (e3 compare of the sweep; wall s is the whole run, evaluation included):\n\n' +
      s.markdown,
  );
  summary.push([
    `${ratio * 100}%`,
    fmt(oracle.kl),
    fmt(e3Median),
    fmt(e3Median / oracle.kl, 3),
    fmt(bestBaseline),
    `${e3.filter((r) => r.mask === oracle.mask).length}/${e3.length}`,
    pct(median(e3.map((r) => r.accuracy))),
    pct(oracle.accuracy),
  ]);
}
const text =
  header(
    name === 'mask-quality' ? 'Table 1 — mask quality before recovery' : `Mask quality before recovery (${name})`,
    {
      ...facts,
      teacher: TEACHER.replace(/.*\/models\//, 'models/'),
      'calibration examples': calib ?? 256,
      sweep: 'bench/sweeps/mask-quality.yaml',
    },
  ) +
  '\nHeld-out KL is KL(teacher ‖ pruned) per answer token over the full vocabulary (evaluator.suite); exact match by greedy decoding; forward passes count calibration-batch forwards (search steps count one each).\n\n' +
  '## Summary\n\n' +
  table(
    [
      'removed',
      'oracle KL',
      'E³ median KL',
      'E³ / oracle',
      'best baseline KL',
      'E³ seeds = oracle',
      'E³ exact match',
      'oracle exact match',
    ],
    summary,
  ) +
  '\n\n' +
  sections.join('\n');
writeResult(QUICK ? `${name}.quick` : name, text);
teacher.dispose();
