#!/usr/bin/env node
// `npm run bench`: regenerates every table in bench/results/ from a fresh clone (pass --quick
// for a smoke run). Each table is also a script of its own.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { BENCH } from './lib/table.js';

const scripts = ['mask-quality.js', 'recovery.js', 'search-ablations.js', 'speed.js', 'throughput.js'];
const extra = process.argv.slice(2);
for (const s of scripts) {
  process.stderr.write(`\n=== ${s} ${extra.join(' ')}\n`);
  execFileSync(process.execPath, [join(BENCH, s), ...extra], { stdio: 'inherit' });
}
