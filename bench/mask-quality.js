#!/usr/bin/env node
// Table 1 — mask quality before recovery: E³ search vs training-free baselines vs the exhaustive
// oracle, pruning 25%, 37.5% and 50% of the shipped teacher's layers.
//   node bench/mask-quality.js [--quick]
import { initBackend, Rng } from '@e3/core';
import { arithmeticDataset, brownDataset, heldoutLikelihood, cloneHandle, loadCheckpoint } from '@e3/plugins';
import { evaluateMask, run, TEACHER } from './lib/pipeline.js';
import { arg, benchCli, fmt, header, median, pct, QUICK, table, writeResult } from './lib/table.js';
benchCli('usage: node bench/mask-quality.js [--quick] [--ratios 0.25,0.375,0.5]\n  Table 1: mask quality before recovery; writes bench/results/<name>.md.', { ratios: { type: 'string', description: 'prune ratios, comma-separated', default: '0.25,0.375,0.5' }, name: { type: 'string', description: 'results file name', default: 'mask-quality' }, calibration: { type: 'string', description: 'calibration examples for every method' }, text: { type: 'boolean', description: 'also each mask\'s perplexity on held-out Brown sentences' } });

const ratios = arg('ratios') ? arg('ratios').split(',').map(Number) : QUICK ? [0.25] : [0.25, 0.375, 0.5];
const name = arg('name', 'mask-quality');
// --calibration N: fewer calibration examples for every method (the oracle of a deep model is C(L, K) evaluations).
const calib = arg('calibration');
const calibSets = (node) => (calib ? [`nodes.${node}.params.calibration=${calib}`] : []);
const searchSeeds = QUICK ? [0] : [0, 1, 2];
const randomSeeds = QUICK ? [0, 1] : [0, 1, 2, 3, 4];
const heldoutN = QUICK ? 40 : 500;
const quickSets = QUICK ? ['nodes.search.params.steps=10', 'nodes.search.params.restarts=1'] : [];
const baselines = ['blockInfluence', 'angular', 'sleb', 'klDrop', 'lastN'];

const backend = await initBackend('auto');
const teacher = await loadCheckpoint(TEACHER);
const held = await arithmeticDataset({ ops: ['+', '-'], maxOperand: 99, heldoutFraction: 0.1, splitSeed: 1234 }, new Rng(0)).heldout(heldoutN);
const setsFor = (r) => [`vars.teacher=${TEACHER}`, `vars.pruneRatio=${r}`];
// With --text (a teacher that also models English), each mask's perplexity on held-out Brown sentences too.
const textHeld = process.argv.includes('--text') ? await brownDataset({ maxChars: 48, heldoutFraction: 0.05, splitSeed: 1234, limit: 0 }, new Rng(0)).heldout(QUICK ? 20 : 300) : undefined;
const textPpl = async (mask) => { if (!textHeld) return undefined; const p = cloneHandle(teacher, mask.flatMap((m, i) => (m ? [i] : []))); try { return (await heldoutLikelihood(p, textHeld)).perplexity; } finally { p.dispose(); } };

const sections = [];
const summary = [];
for (const ratio of ratios) {
  const rows = [];
  const add = async (method, seed, r) => {
    const m = r.values['search.mask'] ?? r.values['mask.mask'];
    const q = await evaluateMask(teacher, held, m.mask);
    const row = { method, seed, removed: m.details.removed, calibKl: m.details.calibrationKl, ...q, textPpl: await textPpl(m.mask), wall: r.wallSeconds, passes: m.details.forwardPasses, mask: m.mask.join('') };
    rows.push(row);
    process.stderr.write(`${ratio} ${method} seed ${seed}: removes ${row.removed} held-out KL ${fmt(row.kl)}\n`);
    return row;
  };
  const oracle = await add('exhaustive (oracle)', '—', await run('graphs/baselines/exhaustive.yaml', [...setsFor(ratio), ...calibSets('mask'), 'nodes.mask.params.maxMasks=20000']));
  for (const b of baselines) await add(b, '—', await run(`graphs/baselines/${b}.yaml`, [...setsFor(ratio), ...calibSets('mask')]));
  const randoms = [];
  for (const s of randomSeeds) randoms.push(await add('random', s, await run('graphs/baselines/random.yaml', [...setsFor(ratio), ...calibSets('mask')], s)));
  const e3 = [];
  for (const s of searchSeeds) e3.push(await add('E³ search', s, await run('graphs/search.yaml', [...setsFor(ratio), ...calibSets('search'), ...quickSets], s)));
  const e3Median = median(e3.map((r) => r.kl));
  const randomMedian = median(randoms.map((r) => r.kl));
  const bestBaseline = Math.min(...rows.filter((r) => baselines.includes(r.method)).map((r) => r.kl));
  const L = teacher.model.numLayers;
  sections.push(`## ${ratio * 100}% of layers removed (${Math.round(ratio * L)} of ${L})\n\n` + table(
    ['method', 'seed', 'layers removed', 'calibration KL', 'held-out KL', 'perplexity', 'exact match', ...(textHeld ? ['text perplexity'] : []), 'wall s', 'forward passes', 'KL / oracle'],
    rows.map((r) => [r.method, r.seed, r.removed.join(','), fmt(r.calibKl), fmt(r.kl), fmt(r.perplexity, 3), pct(r.accuracy), ...(textHeld ? [fmt(r.textPpl, 2)] : []), fmt(r.wall, 1), r.passes, fmt(r.kl / oracle.kl, 2)]),
  ) + `\n\nE³ search median held-out KL ${fmt(e3Median)} = ${fmt(e3Median / oracle.kl, 3)} × the oracle's; best training-free baseline ${fmt(bestBaseline)}; random median ${fmt(randomMedian)}. Seeds finding the oracle's mask: ${e3.filter((r) => r.mask === oracle.mask).length}/${e3.length}.\n`);
  summary.push([`${ratio * 100}%`, fmt(oracle.kl), fmt(e3Median), fmt(e3Median / oracle.kl, 3), fmt(bestBaseline), `${e3.filter((r) => r.mask === oracle.mask).length}/${e3.length}`, pct(median(e3.map((r) => r.accuracy))), pct(oracle.accuracy)]);
}
const text = header(name === 'mask-quality' ? 'Table 1 — mask quality before recovery' : `Mask quality before recovery (${name})`, { backend: backend.name, teacher: TEACHER.replace(/.*\/models\//, 'models/'), 'held-out examples': held.length, 'search seeds': searchSeeds.join(','), 'calibration examples': calib ?? 256, 'random seeds': randomSeeds.join(',') })
  + '\nHeld-out KL is KL(teacher ‖ pruned) per answer token over the full vocabulary; exact match by greedy decoding; forward passes count calibration-batch forwards (search steps count one each).\n\n'
  + '## Summary\n\n' + table(['removed', 'oracle KL', 'E³ median KL', 'E³ / oracle', 'best baseline KL', 'E³ seeds = oracle', 'E³ exact match', 'oracle exact match'], summary) + '\n\n' + sections.join('\n');
writeResult(QUICK ? `${name}.quick` : name, text);
teacher.dispose();
