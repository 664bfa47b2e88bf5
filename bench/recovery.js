#!/usr/bin/env node
// Table 2 — recovery with the same pruned mask and the same token budget: teacher-entropy vs
// uniform token weighting; forward KL vs AKL vs CE. Three seeds, mean ± spread, and the
// accuracy-vs-tokens curve of each.
//   node bench/recovery.js [--quick] [--drop 4,5,6,7]
import { initBackend } from '@e3/core';
import { run, TEACHER } from './lib/pipeline.js';
import { arg, benchCli, fmt, header, mean, pct, QUICK, spread, table, writeResult } from './lib/table.js';
benchCli('usage: node bench/recovery.js [--quick] [--drop 3,4,6,7]\n  Table 2: recovery by distillation of one fixed mask; writes bench/results/<name>.md.', { drop: { type: 'string', description: 'layers the fixed mask removes', default: '3,4,6,7' }, name: { type: 'string', description: 'results file name', default: 'recovery' } });

const drop = arg('drop', '3,4,6,7');
const name = arg('name', 'recovery'); // the mask E³ search (and the oracle) choose at 50% on the shipped teacher (table 1)
const seeds = QUICK ? [0] : [0, 1, 2];
const budget = QUICK ? ['nodes.distill.params.steps=4', 'nodes.distill.params.evalEvery=2', 'nodes.distill.params.evalExamples=20', 'nodes.eval.params.examples=20'] : [];
const variants = [
  ['forward KL + teacher-entropy weights (E³ default)', []],
  ['forward KL + uniform weights', ['nodes.distill.params.weighting.component=weighting.uniform']],
  ['AKL + teacher-entropy weights', ['nodes.distill.params.loss=[{component: loss.akl}]']],
  ['cross-entropy on labels only', ['nodes.distill.params.loss=[{component: loss.crossEntropy}]', 'nodes.distill.params.weighting.component=weighting.uniform']],
];
const backend = await initBackend('auto');
const rows = [];
const curves = [];
let before;
for (const [name, sets] of variants) {
  const res = [];
  for (const s of seeds) {
    const r = await run('bench/recovery.yaml', [`vars.teacher=${TEACHER}`, `vars.drop=[${drop}]`, ...budget, ...sets], s);
    const rep = r.values['eval.report'].json;
    const curve = rep.training.evalCurve;
    before ??= curve[0];
    res.push({ acc: rep.model.accuracy, kl: rep.model.klToTeacher, ppl: rep.model.perplexity, tokens: rep.training.tokens, curve, teacherAcc: rep.teacher.accuracy });
    process.stderr.write(`${name} seed ${s}: ${pct(rep.model.accuracy)} KL ${fmt(rep.model.klToTeacher)}\n`);
  }
  const m = (k) => `${fmt(mean(res.map((x) => x[k])), 4)} ± ${fmt(spread(res.map((x) => x[k])), 4)}`;
  rows.push([name, `${pct(mean(res.map((x) => x.acc)))} ± ${pct(spread(res.map((x) => x.acc)))}`, m('ppl'), m('kl'), res[0].tokens]);
  curves.push([name, res[0].curve.map((c) => `${c.tokens}: ${pct(mean(res.map((x) => x.curve.find((y) => y.step === c.step)?.accuracy ?? NaN)))}`).join(' · ')]);
}
writeResult(QUICK ? `${name}.quick` : name, header(name === 'recovery' ? 'Table 2 — recovery by distillation' : `Recovery by distillation (${name})`, { backend: backend.name, 'removed layers': drop, seeds: seeds.join(',') })
  + `\nSame mask (layers ${drop} removed) and token budget for every variant. Before recovery: exact match ${pct(before.accuracy)}, KL ${fmt(before.kl)}.\n\n`
  + table(['variant', 'exact match (mean ± sd)', 'perplexity', 'KL to teacher', 'tokens'], rows)
  + '\n\n## Accuracy vs tokens (mean over seeds; held-out subset)\n\n' + table(['variant', 'tokens: exact match'], curves) + '\n');
