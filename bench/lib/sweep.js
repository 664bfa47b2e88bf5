// Runs a bench sweep file through the CLI (`e3 sweep`, then `e3 compare`), in a fresh directory.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './table.js';

const E3 = join(ROOT, 'bin', 'e3.js');
const e3 = (args) =>
  execFileSync(process.execPath, [E3, ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

/**
 * `e3 sweep BENCH_SWEEP --set … [--seeds …]`, then `e3 compare` of it. Returns the sweep directory,
 * its sweep.json, the compare table (markdown and JSON) and each point's report.json by point id.
 */
export function sweep(file, { sets = [], seeds, parallel = 1 } = {}) {
  const out = join(mkdtempSync(join(tmpdir(), 'e3-bench-sweep-')), 'sweep');
  e3([
    'sweep',
    join(ROOT, file),
    '--out',
    out,
    '--parallel',
    String(parallel),
    ...sets.flatMap((s) => ['--set', s]),
    ...(seeds ? ['--seeds', seeds.join(',')] : []),
  ]);
  const markdown = e3(['compare', out]);
  const state = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
  const compare = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
  const reports = Object.fromEntries(
    state.points.map((p) => [p.id, JSON.parse(readFileSync(join(out, p.dir, 'report.json'), 'utf8'))]),
  );
  return { dir: out, state, markdown, compare, reports };
}
