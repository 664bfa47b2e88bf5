#!/usr/bin/env node
// `npm run bench`: regenerates every table in bench/results/ from a fresh clone (pass --quick
// for a smoke run). Each table is also a script of its own.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { BENCH, benchCli, ROOT } from './lib/table.js';
benchCli(
  'usage: npm run bench [-- --quick]\n  Regenerates every table in bench/results/ (about 4 hours on 2 cores; see README); --quick: a smoke run of each.',
  {},
);

const extra = process.argv.slice(2);
const mixed = { ...process.env, E3_TEACHER: join(ROOT, 'models/mixed-teacher') };
const runs = [
  ['mask-quality.js'],
  ['recovery.js'],
  ['search-ablations.js'],
  ['speed.js'],
  ['throughput.js'],
  // Table 6: the same tables on the second, harder teacher.
  ['mask-quality.js', '--name', 'mask-quality-mixed', '--ratios', '0.25,0.5', '--calibration', '64', '--text', mixed],
  ['recovery.js', '--name', 'recovery-mixed', '--drop', '10,12,14,15', mixed],
  // Real-size checkpoints (builds 3.7 GB of them under .e3-cache/scale/ once).
  ['scale.js'],
  // Speed in llama.cpp of GGUF exports of the 0.6B shape scale.js built (needs runtimes/llama-cpp installed).
  ['llamacpp.js'],
];
for (const r of runs) {
  const env = typeof r[r.length - 1] === 'object' ? r.pop() : process.env;
  process.stderr.write(`\n=== ${r.join(' ')} ${extra.join(' ')}\n`);
  execFileSync(process.execPath, [join(BENCH, r[0]), ...r.slice(1), ...extra], { stdio: 'inherit', env });
}
