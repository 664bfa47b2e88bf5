#!/usr/bin/env node
// Matrix-product rates of the native addon's three engines side by side, in one process, one thread
// each: OpenBLAS sgemm (f32), oneDNN f32 and oneDNN bf16 (bf16 inputs, f32 accumulation and output),
// at the shapes e3 computes: a projection [512 × d] · [d × 3d] for d = 64 (the shipped teacher) and
// d = 1024 (Qwen3-0.6B), and a square 2048³. Engines alternate round by round, so a busy machine
// slows all three alike; the best round of each is kept. Prints a markdown table and oneDNN's
// implementation names (a second child under ONEDNN_VERBOSE=1, its lines collected from stdout).
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadAddon } from '@e3/native';
import { arg, benchCli, QUICK, writeResult } from './lib/table.js';

const USAGE = `usage: node bench/matmul-rates.js [--quick] [--seconds 1]
  OpenBLAS f32, oneDNN f32 and oneDNN bf16 GFLOP/s at e3's shapes, one thread each, engines alternating
  in one process; oneDNN's implementation names. Writes bench/results/matmul-rates.md (--quick: .quick.md).
`;
benchCli(USAGE, {
  seconds: { type: 'string', description: 'seconds of alternating rounds per shape', default: '1' },
  child: { type: 'boolean', description: '(internal) the measurements, in a fresh process' },
  names: { type: 'boolean', description: "(internal) with --child: one product per engine, for oneDNN's names" },
});

const SHAPES = [
  { name: 'd=64 projection', m: 512, k: 64, n: 192 },
  { name: 'd=1024 projection', m: 512, k: 1024, n: 3072 },
  { name: '2048³', m: 2048, k: 2048, n: 2048 },
];
const ENGINES = ['openblas', 'onednn-f32', 'onednn-bf16'];

/** Seconds per product of each engine at one shape: the best of rounds that alternate engines. */
function measure(addon, shape, seconds, once = false) {
  const { m, n, k } = shape;
  const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i) * 0.5);
  const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i) * 0.5);
  const a16 = new Uint16Array(a.length);
  const b16 = new Uint16Array(b.length);
  addon.toBf16(a, a16);
  addon.toBf16(b, b16);
  const out = new Float32Array(m * n);
  const inputs = { openblas: [a, b], 'onednn-f32': [a, b], 'onednn-bf16': [a16, b16] };
  const best = Object.fromEntries(ENGINES.map((e) => [e, Infinity]));
  const built = Object.fromEntries(
    ENGINES.map((e) => [e, addon.matmulWith(e, ...inputs[e], out, m, n, k, false, false)]),
  );
  if (once) return undefined;
  const flops = 2 * m * n * k;
  const reps = Math.max(1, Math.round(2e8 / flops));
  const start = performance.now();
  for (let round = 0; round < 3 || performance.now() - start < seconds * 1000; round++) {
    for (const e of ENGINES) {
      if (!built[e]) continue;
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) addon.matmulWith(e, ...inputs[e], out, m, n, k, false, false);
      best[e] = Math.min(best[e], (performance.now() - t0) / 1000 / reps);
    }
    if (round > 50) break;
  }
  return Object.fromEntries(ENGINES.map((e) => [e, built[e] ? flops / best[e] / 1e9 : undefined]));
}

// --child: the timings (--seconds per shape), or with --names one product per engine and shape (run
// under ONEDNN_VERBOSE=1, whose per-call printing would slow the timed products).
function child() {
  const addon = loadAddon();
  if (!addon?.matmulWith) throw new Error('native addon not built (npm run build)');
  addon.setThreads(1);
  const seconds = process.argv.includes('--names') ? 0 : QUICK ? 0.05 : Number(arg('seconds', '1'));
  const rows = SHAPES.map((s) => ({ ...s, rates: seconds ? measure(addon, s, seconds) : undefined }));
  if (!seconds) for (const s of SHAPES) measure(addon, { ...s }, 0, true);
  process.stdout.write(`RESULT ${JSON.stringify({ info: addon.precisionInfo(), rows })}\n`);
}

function runChild(extra, env) {
  const run = spawnSync(
    process.execPath,
    [fileURLToPath(import.meta.url), '--child', ...extra, ...process.argv.slice(2)],
    {
      env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', ...env },
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    },
  );
  if (run.status !== 0) throw new Error(run.stderr || `exit ${run.status}`);
  return run.stdout.split('\n');
}

function parent() {
  const lines = runChild([], {});
  const { info, rows } = JSON.parse(lines.find((l) => l.startsWith('RESULT ')).slice(7));
  // onednn_verbose,exec,cpu,matmul,<impl>,undef,src_bf16::blocked:ab:f0 …,attr-…,,512x64:64x192:512x192,<ms>
  const impls = {};
  for (const l of runChild(['--names'], { ONEDNN_VERBOSE: '1' }).filter((x) =>
    x.startsWith('onednn_verbose,exec,cpu,matmul'),
  )) {
    const f = l.split(',');
    const dt = /src_(\w+?):/.exec(l)?.[1] ?? '?';
    impls[`${f.at(-2)} ${dt}`] = f[4];
  }
  const fmt = (x) => (x === undefined ? 'n/a' : x.toFixed(1));
  const out = [
    `Matrix-product rates, one thread, GFLOP/s (best round; engines alternate in one process).`,
    `CPU: ${cpus()[0]?.model ?? '?'}; oneDNN ${info.onednn || 'absent'} (ISA ${info.isa || '-'}).`,
    '',
    '| shape | OpenBLAS f32 | oneDNN f32 | oneDNN bf16 | bf16 / OpenBLAS | oneDNN bf16 implementation |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const ratio =
        r.rates['onednn-bf16'] && r.rates.openblas ? (r.rates['onednn-bf16'] / r.rates.openblas).toFixed(2) : 'n/a';
      const impl = impls[`${r.m}x${r.k}:${r.k}x${r.n}:${r.m}x${r.n} bf16`] ?? 'n/a';
      const f32impl = impls[`${r.m}x${r.k}:${r.k}x${r.n}:${r.m}x${r.n} f32`];
      return (
        `| ${r.name} [${r.m}×${r.k}]·[${r.k}×${r.n}] | ${fmt(r.rates.openblas)} | ${fmt(r.rates['onednn-f32'])}` +
        `${f32impl ? ` (${f32impl})` : ''} | ${fmt(r.rates['onednn-bf16'])} | ${ratio} | ${impl} |`
      );
    }),
    '',
  ].join('\n');
  writeResult(QUICK ? 'matmul-rates.quick' : 'matmul-rates', out);
}

if (process.argv.includes('--child')) child();
else parent();
