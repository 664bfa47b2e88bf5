#!/usr/bin/env node
// Table 3 — ablations of the search: sampler (Gumbel-TopK / deterministic top-k / plain-softmax
// surrogate), curriculum, KL init, and our candidate refinement; final mask KL and how often
// (over seeds) each finds the oracle's mask.
//   node bench/search-ablations.js [--quick] [--ratio 0.5] [--seeds 10]
import { initBackend, Rng } from '@e3/core';
import { arithmeticDataset, loadCheckpoint } from '@e3/plugins';
import { evaluateMask, run, TEACHER } from './lib/pipeline.js';
import { arg, benchCli, fmt, header, median, QUICK, table, writeResult } from './lib/table.js';
benchCli('usage: node bench/search-ablations.js [--quick] [--ratio 0.5] [--seeds 10]\n  Table 3: ablations of the mask search; writes bench/results/search-ablations.md.', { ratio: { type: 'string', description: 'prune ratio', default: 0.5 }, seeds: { type: 'string', description: 'seeds per variant', default: 10 } });

const ratios = arg('ratio') ? [Number(arg('ratio'))] : QUICK ? [0.25] : [0.5];
const seeds = QUICK ? [0] : Array.from({ length: Number(arg('seeds', '10')) }, (_, i) => i); // the search without refinement is chaotic: 3 seeds swung by ±2 between runs
const common = ['nodes.search.params.restarts=1', ...(QUICK ? ['nodes.search.params.steps=10'] : [])];
const variants = [
  ['E³: Gumbel-TopK + curriculum + KL init + refinement', []],
  ['without refinement (search alone)', ['nodes.search.params.refineRounds=0']],
  ['deterministic top-k sampler', ['nodes.search.params.sampler.component=sampler.deterministicTopk']],
  ['plain-softmax surrogate', ['nodes.search.params.sampler.component=sampler.softmaxSt']],
  ['no curriculum', ['nodes.search.params.curriculum.enabled=false']],
  ['no KL init (zeros)', ['nodes.search.params.init.component=importance.zeros']],
  ['no KL init, no refinement', ['nodes.search.params.init.component=importance.zeros', 'nodes.search.params.refineRounds=0']],
  // Refinement repairs most near misses, so the search's own components are compared without it too.
  ['deterministic top-k, no refinement', ['nodes.search.params.sampler.component=sampler.deterministicTopk', 'nodes.search.params.refineRounds=0']],
  ['plain-softmax surrogate, no refinement', ['nodes.search.params.sampler.component=sampler.softmaxSt', 'nodes.search.params.refineRounds=0']],
  ['no curriculum, no refinement', ['nodes.search.params.curriculum.enabled=false', 'nodes.search.params.refineRounds=0']],
];

const backend = await initBackend('auto');
const teacher = await loadCheckpoint(TEACHER);
const held = await arithmeticDataset({ ops: ['+', '-'], maxOperand: 99, heldoutFraction: 0.1, splitSeed: 1234 }, new Rng(0)).heldout(QUICK ? 40 : 500);
const sections = [];
for (const ratio of ratios) {
  const base = [`vars.teacher=${TEACHER}`, `vars.pruneRatio=${ratio}`];
  const oracleRun = await run('graphs/baselines/exhaustive.yaml', base);
  const oracle = oracleRun.values['mask.mask'];
  const oracleHeld = await evaluateMask(teacher, held, oracle.mask);
  const rows = [];
  for (const [name, sets] of variants) {
    const res = [];
    for (const s of seeds) {
      const r = await run('graphs/search.yaml', [...base, ...common, ...sets], s);
      const m = r.values['search.mask'];
      res.push({ calib: m.details.calibrationKl, held: (await evaluateMask(teacher, held, m.mask)).kl, hit: m.mask.join('') === oracle.mask.join(''), wall: r.wallSeconds, removed: m.details.removed.join(',') });
      process.stderr.write(`${ratio} ${name} seed ${s}: removes ${m.details.removed} calib KL ${fmt(m.details.calibrationKl)}\n`);
    }
    rows.push([name, fmt(median(res.map((x) => x.calib))), fmt(median(res.map((x) => x.held))), fmt(median(res.map((x) => x.calib)) / oracle.details.calibrationKl, 3), `${res.filter((x) => x.hit).length}/${res.length}`, res.map((x) => x.removed).join(' · '), fmt(median(res.map((x) => x.wall)), 1)]);
  }
  sections.push(`## ${ratio * 100}% of layers removed\n\nOracle: removes ${oracle.details.removed.join(',')}, calibration KL ${fmt(oracle.details.calibrationKl)}, held-out KL ${fmt(oracleHeld.kl)}.\n\n` + table(['variant', 'median calibration KL', 'median held-out KL', 'calib KL / oracle', 'seeds = oracle', 'layers removed per seed', 'median wall s'], rows) + '\n');
}
writeResult(QUICK ? 'search-ablations.quick' : 'search-ablations', header('Table 3 — ablations of the mask search', { backend: backend.name, seeds: seeds.join(','), 'restarts per search': 1, 'held-out examples': held.length })
  + '\nEvery variant changes one thing of graphs/search.yaml with --set (restarts = 1 for all, so the comparison is per search).\n\n' + sections.join('\n'));
teacher.dispose();
