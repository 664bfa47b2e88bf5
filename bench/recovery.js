#!/usr/bin/env node
// Table 2 — recovery with the same pruned mask and the same token budget: teacher-entropy vs
// uniform token weighting; forward KL vs AKL vs CE. Three seeds, mean ± sd, and the
// accuracy-vs-tokens curve of each. The runs are the sweep bench/sweeps/recovery.yaml; the
// table is `e3 compare` of it.
//   node bench/recovery.js [--quick] [--drop 4,5,6,7] [--parallel 2]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TEACHER } from './lib/pipeline.js';
import { sweep } from './lib/sweep.js';
import { arg, benchCli, fmt, header, mean, pct, QUICK, table, writeResult } from './lib/table.js';
benchCli(
  'usage: node bench/recovery.js [--quick] [--drop 3,4,6,7]\n  Table 2: recovery by distillation of one fixed mask; writes bench/results/<name>.md.',
  {
    drop: { type: 'string', description: 'layers the fixed mask removes', default: '3,4,6,7' },
    name: { type: 'string', description: 'results file name', default: 'recovery' },
    parallel: { type: 'string', description: 'sweep points run at once', default: '1' },
  },
);

const drop = arg('drop', '3,4,6,7'); // the mask E³ search (and the oracle) choose at 50% on the shipped teacher (table 1)
const name = arg('name', 'recovery');
const budget = QUICK
  ? [
      'nodes.distill.params.steps=4',
      'nodes.distill.params.evalEvery=2',
      'nodes.distill.params.evalExamples=20',
      'nodes.eval.params.examples=20',
    ]
  : [];
const s = sweep('bench/sweeps/recovery.yaml', {
  sets: [`vars.teacher=${TEACHER}`, `vars.drop=[${drop}]`, ...budget],
  seeds: QUICK ? [0] : undefined,
  parallel: Number(arg('parallel', '1')),
});
const points = s.state.points;
const backend = JSON.parse(readFileSync(join(s.dir, points[0].dir, 'run.json'), 'utf8')).backend;
const before = s.reports[points[0].id].training.evalCurve[0];
const curves = [...new Set(points.map((p) => p.settings.overlay))].map((overlay) => {
  const reps = points.filter((p) => p.settings.overlay === overlay).map((p) => s.reports[p.id]);
  const curve = reps[0].training.evalCurve;
  return [
    overlay,
    curve
      .map(
        (c) =>
          `${c.tokens}: ${pct(mean(reps.map((r) => r.training.evalCurve.find((y) => y.step === c.step)?.accuracy ?? NaN)))}`,
      )
      .join(' · '),
  ];
});
writeResult(
  QUICK ? `${name}.quick` : name,
  header(name === 'recovery' ? 'Table 2 — recovery by distillation' : `Recovery by distillation (${name})`, {
    backend,
    teacher: TEACHER.replace(/.*\/models\//, 'models/'),
    'removed layers': drop,
    seeds: [...new Set(points.map((p) => p.seed))].join(','),
    sweep: 'bench/sweeps/recovery.yaml',
  }) +
    `\nSame mask (layers ${drop} removed) and token budget for every variant (overlays: fkl-entropy = forward KL + teacher-entropy weights, the E³ default; fkl-uniform = uniform weights; akl-entropy = AKL; ce-labels = cross-entropy on labels only). Before recovery: exact match ${pct(before.accuracy)}, KL ${fmt(before.kl)}.\n\n` +
    s.markdown +
    '\n## Accuracy vs tokens (mean over seeds; held-out subset)\n\n' +
    table(['variant', 'tokens: exact match'], curves) +
    '\n',
);
