#!/usr/bin/env node
// Table 3 — ablations of the search: sampler (Gumbel-TopK / deterministic top-k / plain-softmax
// surrogate), curriculum, KL init, and our candidate refinement; final mask KL and how often
// (over seeds) each finds the oracle's mask. The runs are the sweep
// bench/sweeps/search-ablations.yaml (its `e3 compare` table is included); the oracle is one run.
//   node bench/search-ablations.js [--quick] [--ratio 0.5] [--seeds 10] [--parallel 2]
import { initBackend, Rng } from '@e3/core';
import { arithmeticDataset, loadCheckpoint } from '@e3/plugins';
import { evaluateMask, run, TEACHER } from './lib/pipeline.js';
import { sweep } from './lib/sweep.js';
import { arg, benchCli, fmt, header, median, QUICK, table, writeResult } from './lib/table.js';
benchCli(
  'usage: node bench/search-ablations.js [--quick] [--ratio 0.5] [--seeds 10]\n  Table 3: ablations of the mask search; writes bench/results/search-ablations.md.',
  {
    ratio: { type: 'string', description: 'prune ratio', default: 0.5 },
    seeds: { type: 'string', description: 'seeds per variant', default: 10 },
    parallel: { type: 'string', description: 'sweep points run at once', default: '1' },
  },
);

const ratios = arg('ratio') ? [Number(arg('ratio'))] : QUICK ? [0.25] : [0.5];
const seeds = QUICK ? [0] : Array.from({ length: Number(arg('seeds', '10')) }, (_, i) => i);
const quick = QUICK ? ['nodes.search.params.steps=10', 'nodes.eval.params.examples=40'] : [];

const backend = await initBackend('auto');
const teacher = await loadCheckpoint(TEACHER);
const held = await arithmeticDataset(
  { ops: ['+', '-'], maxOperand: 99, heldoutFraction: 0.1, splitSeed: 1234 },
  new Rng(0),
).heldout(QUICK ? 40 : 500);
const sections = [];
for (const ratio of ratios) {
  const base = [`vars.teacher=${TEACHER}`, `vars.pruneRatio=${ratio}`];
  const oracle = (await run('graphs/baselines/exhaustive.yaml', base)).values['mask.mask'];
  const oracleHeld = await evaluateMask(teacher, held, oracle.mask);
  const s = sweep('bench/sweeps/search-ablations.yaml', {
    sets: [...base, ...quick],
    seeds,
    parallel: Number(arg('parallel', '1')),
  });
  const rows = [...new Set(s.state.points.map((p) => p.settings.overlay))].map((overlay) => {
    const masks = s.state.points.filter((p) => p.settings.overlay === overlay).map((p) => s.reports[p.id].mask);
    const calib = median(masks.map((m) => m.details.calibrationKl));
    return [
      overlay,
      fmt(calib),
      fmt(calib / oracle.details.calibrationKl, 3),
      `${masks.filter((m) => m.mask.join('') === oracle.mask.join('')).length}/${masks.length}`,
      masks.map((m) => m.details.removed.join(',')).join(' · '),
    ];
  });
  sections.push(
    `## ${ratio * 100}% of layers removed\n\nOracle: removes ${oracle.details.removed.join(',')}, calibration KL ${fmt(oracle.details.calibrationKl)}, held-out KL ${fmt(oracleHeld.kl)}.\n\n` +
      table(
        ['variant', 'median calibration KL', 'calib KL / oracle', 'seeds = oracle', 'layers removed per seed'],
        rows,
      ) +
      "\n\nHeld-out evaluation of each variant's masks (e3 compare of the sweep; mean ± sd over seeds):\n\n" +
      s.markdown,
  );
}
writeResult(
  QUICK ? 'search-ablations.quick' : 'search-ablations',
  header('Table 3 — ablations of the mask search', {
    backend: backend.name,
    seeds: seeds.join(','),
    'restarts per search': 1,
    'held-out examples': held.length,
    sweep: 'bench/sweeps/search-ablations.yaml',
  }) +
    '\nEvery variant is an overlay of bench/sweeps/search-ablations.yaml: one change to graphs/search.yaml (restarts = 1 for all, so the comparison is per search), evaluated on held-out data without recovery (bench/search-eval.yaml).\n\n' +
    sections.join('\n'),
);
teacher.dispose();
