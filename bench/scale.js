#!/usr/bin/env node
// Real-size checkpoints: builds seeded random-weight bf16 checkpoints of real models' exact
// shapes (bench/scale/make-checkpoint.js; cached under .e3-cache/scale/) and measures, per
// shape, the build time, `e3 model info` (headers only), the load time, the peak resident
// memory after loading, and — in the same run, for scale — this machine's sgemm GFLOP/s.
// Every load runs in a fresh child process, so its peak RSS is its own.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, benchCli, fmt, header, median, QUICK, ROOT, table, writeResult } from './lib/table.js';

const USAGE = `usage: node bench/scale.js [--quick] [--shapes qwen3-0.6b,llama-3.2-1b] [--cache DIR] [--rebuild]
                          [--note TEXT]
  Builds each shape (reused from the cache when present), then measures build time, e3 model info,
  load time (median of 3 for qwen3-0.6b, 1 for larger), peak RSS after loading, pruning one layer and
  exporting (time, peak RSS), sgemm GFLOP/s, and search / distillation / decoding tokens/s next to PyTorch's.
  Writes bench/results/scale.md (--quick: qwen3-0.6b only, one load, scale.quick.md).
`;
benchCli(
  USAGE,
  {
    shapes: { type: 'string', description: 'shapes to build and measure', default: 'qwen3-0.6b,llama-3.2-1b' },
    cache: {
      type: 'string',
      description: 'where the checkpoints live (about 3.7 GB for both)',
      default: '.e3-cache/scale',
    },
    rebuild: { type: 'boolean', description: 'build the checkpoints again even if cached' },
    note: { type: 'string', description: "conditions of the run, for the table's notes" },
    'no-steps': { type: 'boolean', description: "skip the search / distillation / decoding steps (and PyTorch's)" },
    child: { type: 'boolean', description: '(internal) one measurement in a fresh process' },
  },
  { positionals: true },
);
const GIB = 2 ** 30;
const COLUMNS = [
  'shape',
  'parameters',
  'file',
  'build s',
  'model info s (process)',
  'model info s (inspect)',
  'load s',
  'load GB/s',
  'peak RSS GiB',
  'f32 weights GiB',
  'prune + export s',
  'export peak RSS GiB',
  'backend',
];
const NOTES = [
  'Seeded random bf16 weights in the exact shapes of the public models (`bench/scale/make-checkpoint.js`;',
  "qwen3-0.6b carries Qwen3's real tokenizer.json, llama-3.2-1b a byte-level one, since Qwen3's ids exceed its",
  'vocabulary). *model info* is `e3 model info` as a process (node start-up included) and its own inspection time:',
  'it reads config.json and the safetensors headers only. *load* is `loadCheckpoint` in a fresh process (weights to',
  'float32, tokenizer built), median with each run in brackets; *load GB/s* is file bytes per second of load;',
  "*peak RSS* is that process's VmHWM after loading. Loads run on wasm, the default backend, unless the float32",
  'weights exceed its 4 GiB address space (then cpu). *prune + export* drops the last layer of the loaded model',
  '(`cloneHandle`) and writes it as bf16 (`exportCheckpoint`, as `e3 prune`), in another fresh process; its peak',
  'RSS includes the load.',
].join(' ');
const WASM_MAX = 2 ** 32;
/** The batch of the step measurements: the issue's 4 × 64 tokens; best of 2 after 1 warm-up. */
const STEP_BATCH = { batch: 4, seq: 64, newTokens: 16, warmup: 1, repeats: QUICK ? 1 : 2 };
const STEP_COLUMNS = [
  'shape',
  'step',
  'e3 tokens/s',
  'PyTorch tokens/s',
  'ratio',
  'FLOPs/token',
  'e3 GFLOP/s',
  'e3 MFU',
  'PyTorch MFU',
  'e3 peak RSS GiB',
  'PyTorch peak RSS GiB',
];
const STEP_NOTES = [
  "Steps on e3's own code paths (bench/scale/steps.js) on the cpu backend with the native kernels (host memory)",
  'and its default reuse of disposed outputs, batch 4 × 64 random tokens: *search* = Gumbel-TopK mask, forward KL through the chunked output head, gradients to the',
  'mask logits only; *distill* = every weight, chunked head, fused AdamW; *decode* = greedy, KV cache, 4 prompts of',
  '8 tokens, 16 new tokens each. PyTorch = bench/reference/torch_steps.py (Debian python3-torch, 2 threads) on the same',
  'checkpoint and batch shape, its own decoder written independently. Best of the repeats after a warm-up, both.',
  'FLOPs/token: 4N for the search (forward + backward to activations), 6N for distillation, 2N for decoding, with N',
  "the parameters that compute (every weight; the tied embedding computes as the head); attention's T² terms are left",
  'out. MFU = FLOPs/token × tokens/s ÷ the 2-thread sgemm rate measured in this run. Rows marked (bf16) run',
  "e3's matrix products in bf16 on oneDNN (`backend: { precision: bf16 }`: f32 accumulation, norms, softmax,",
  'losses and optimizer state in f32) beside PyTorch under `torch.autocast("cpu", dtype=torch.bfloat16)` (forward',
  'passes autocast, backward outside it); both MFUs there are against the bf16 matmul rate measured in this run.',
].join(' ');
const FLOPS_PER_PARAM = { search: 4, distill: 6, decode: 2 };

/** /proc/self/status fields in bytes (Linux), or undefined elsewhere. */
function procStatus(field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Child: load one checkpoint on one backend, print {seconds, peak, rss} as JSON. */
async function childLoad(dir, backend) {
  const { initBackend } = await import('@e3/core');
  const { loadCheckpoint } = await import('@e3/plugins');
  await initBackend(backend);
  const t0 = performance.now();
  const h = await loadCheckpoint(dir);
  const seconds = (performance.now() - t0) / 1000;
  const rss = process.memoryUsage().rss;
  const peak = procStatus('VmHWM') ?? rss;
  process.stdout.write(JSON.stringify({ seconds, peak, rss, parameters: h.model.parameterCount() }) + '\n');
  h.dispose();
}

/** Child: load, drop the last layer and export as bf16 (what `e3 prune` does); print {seconds, peak}. */
async function childExport(dir, backend) {
  const { initBackend } = await import('@e3/core');
  const { cloneHandle, exportCheckpoint, loadCheckpoint } = await import('@e3/plugins');
  await initBackend(backend);
  const h = await loadCheckpoint(dir);
  const out = join(mkdtempSync(join(tmpdir(), 'e3-scale-')), 'pruned');
  const t0 = performance.now();
  const pruned = cloneHandle(h, [...Array(h.model.numLayers - 1).keys()]);
  await exportCheckpoint(pruned, out, { method: 'bench/scale.js' });
  const seconds = (performance.now() - t0) / 1000;
  rmSync(dirname(out), { recursive: true, force: true });
  process.stdout.write(JSON.stringify({ seconds, peak: procStatus('VmHWM') ?? process.memoryUsage().rss }) + '\n');
  pruned.dispose();
  h.dispose();
}

/**
 * Child: search, distillation and decoding tokens/s on e3's code paths (bench/scale/steps.js), with
 * the products in `precision` (f32 unless asked: the f32 rows stay f32 on a CPU where auto is bf16).
 */
async function childSteps(dir, steps, precision = 'f32') {
  const { measureSteps } = await import('./scale/steps.js');
  const backend = { name: 'cpu', precision };
  const r = await measureSteps({ dir, backend, ...STEP_BATCH, steps: steps.split(',') });
  process.stdout.write(JSON.stringify({ ...r, peak: procStatus('VmHWM') }) + '\n');
}

/**
 * Child: the bf16 matmul rate for an n×n×n product through the addon as e3 runs it (oneDNN, bf16
 * inputs, f32 accumulation, split over the kernels' two threads; median of 5 after a warm-up), or
 * null where bf16 products do not run here (no oneDNN, or no bf16 in the CPU).
 */
async function childBf16Gemm(n) {
  const { loadAddon, choosePrecision } = await import('@e3/native');
  const addon = loadAddon();
  if (!addon || choosePrecision('bf16', addon).used === 'f32') {
    process.stdout.write('null\n');
    return;
  }
  addon.setKernelThreads(2);
  addon.setPrecision('bf16');
  const a = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const b = a.slice().reverse();
  const [a16, b16] = [new Uint16Array(n * n), new Uint16Array(n * n)];
  addon.toBf16(a, a16);
  addon.toBf16(b, b16);
  const c = new Float32Array(n * n);
  const times = [];
  for (let r = 0; r < 6; r++) {
    const t0 = performance.now();
    addon.sgemmBatched(a, b, c, 1, n, n, n, false, false, 0, 0, 0, a16, b16);
    if (r) times.push((performance.now() - t0) / 1000);
  }
  const { isa } = addon.precisionInfo();
  process.stdout.write(JSON.stringify({ gflops: (2 * n ** 3) / median(times) / 1e9, isa }) + '\n');
}

/**
 * PyTorch on the same shape and batch size (bench/reference/torch_steps.py, 2 threads), under
 * `torch.autocast("cpu", dtype=torch.bfloat16)` when `autocast`; undefined without torch.
 */
function torchSteps(dir, steps, autocast = false) {
  const py = '/usr/bin/python3';
  try {
    execFileSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const { batch: B, seq: T, newTokens, warmup, repeats } = STEP_BATCH;
  let x = 12345;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x;
  };
  const vocab = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).vocab_size;
  const ids = Array.from({ length: B }, () => Array.from({ length: T }, () => 2 + (next() % (vocab - 2))));
  const prompts = Array.from({ length: B }, () => Array.from({ length: 8 }, () => 2 + (next() % (vocab - 2))));
  const f = join(mkdtempSync(join(tmpdir(), 'e3-torch-')), 'args.json');
  writeFileSync(
    f,
    JSON.stringify({
      model_dir: dir,
      ids,
      attention: ids.map((r) => r.map(() => 1)),
      prompts,
      new_tokens: newTokens,
      repeats,
      warmup,
      steps: steps.split(','),
      autocast,
    }),
  );
  const out = execFileSync(py, [join(ROOT, 'bench/reference/torch_steps.py'), f], {
    encoding: 'utf8',
    env: { ...process.env, E3_TORCH_THREADS: '2' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop());
}

/** Child: sgemm GFLOP/s for an n×n×n product through the native addon (median of 5 after a warm-up). */
async function childSgemm(n, threads) {
  const { loadAddon } = await import('@e3/native');
  const blas = loadAddon();
  if (!blas) {
    process.stdout.write('null\n');
    return;
  }
  // OpenBLAS's own threads only: the addon also splits a large product over its two kernel threads.
  blas.setKernelThreads(1);
  blas.setThreads(threads);
  const a = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const b = a.slice().reverse();
  const c = new Float32Array(n * n);
  const times = [];
  for (let r = 0; r < 6; r++) {
    const t0 = performance.now();
    blas.sgemmBatched(a, b, c, 1, n, n, n, false, false, 0, 0);
    if (r) times.push((performance.now() - t0) / 1000);
  }
  process.stdout.write(JSON.stringify({ gflops: (2 * n ** 3) / median(times) / 1e9 }) + '\n');
}

/** {@link child}, or {error} when the process failed (e.g. killed for memory: its peak is what it could not fit). */
function tryChild(args) {
  try {
    return child(args);
  } catch (e) {
    const why = e.signal === 'SIGKILL' ? 'killed (out of memory)' : `failed (${String(e.message).split('\n')[0]})`;
    process.stderr.write(`${args.join(' ')}: ${why}\n`);
    return { error: why };
  }
}

function child(args) {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', ...args], {
    encoding: 'utf8',
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop());
}

/** The checkpoint of `shape` in the cache, built unless present; returns its build record. */
async function ensureCheckpoint(shape, cache, rebuild) {
  const { makeCheckpoint } = await import('./scale/make-checkpoint.js');
  const dir = join(cache, shape);
  const record = join(dir, 'e3-scale-build.json');
  if (!rebuild && existsSync(record)) return { dir, ...JSON.parse(readFileSync(record, 'utf8')), cached: true };
  rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`building ${shape} in ${dir} …\n`);
  const r = makeCheckpoint(shape, dir, { seed: 0 });
  writeFileSync(record, JSON.stringify({ shape, seed: 0, ...r }) + '\n');
  return { dir, ...r, cached: false };
}

function modelInfo(dir) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/e3.js'), 'model', 'info', dir], {
    encoding: 'utf8',
    cwd: ROOT,
  });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`e3 model info ${dir} failed: ${r.stderr}`);
  return { wall, ...JSON.parse(r.stdout) };
}

function commit() {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${sha} (with uncommitted changes)` : sha;
  } catch {
    return 'unknown';
  }
}

/** Which steps PyTorch runs per shape: its distillation of a 1B model needs ~21 GB (f32 weights, grads, AdamW). */
const TORCH_STEPS = { 'llama-3.2-1b': 'search,decode' };

const OPTION_NOTES = [
  'The memory options of distiller.train on the same distillation step, each in a fresh process (its peak RSS is',
  "its own): *gradientCheckpointing* keeps only each block's input and runs the block again in the backward pass;",
  '*freeze: [embeddings]* trains every weight but the embedding (tied: the head too); *bufferPool: false* turns off',
  "the cpu backend's reuse of disposed outputs (the default keeps them within the run's peak plus 1 GiB).",
  '*saves* = peak RSS of the plain step minus this one; *speed* = tokens/s against the plain step in this run.',
].join(' ');
const OPTION_COLUMNS = ['shape', 'option', 'tokens/s', 'speed', 'peak RSS GiB', 'saves GiB'];
const OPTION_NAMES = {
  'distill-checkpointing': 'gradientCheckpointing: true',
  'distill-frozen-embeddings': 'freeze: [embeddings]',
  'distill-no-reuse': 'backend bufferPool: false',
};
const optionRows = [];

/** The memory options' distillation steps next to the plain one (`plain`: its tokens/s and peak). */
function optionSteps(shape, dir, plain) {
  for (const [variant, name] of Object.entries(OPTION_NAMES)) {
    process.stderr.write(`${shape}: distillation with ${name} …\n`);
    const r = tryChild(['steps', dir, variant]);
    const rate = r[variant];
    optionRows.push([
      shape,
      name,
      rate ? fmt(rate, 2) : (r.error ?? 'failed'),
      rate && plain.rate ? `${fmt(rate / plain.rate, 2)}×` : '—',
      r.peak ? fmt(r.peak / GIB, 2) : '—',
      r.peak && plain.peak ? fmt((plain.peak - r.peak) / GIB, 2) : '—',
    ]);
  }
}

/**
 * Measures the steps of every shape, then the 2-thread sgemm rate once more; MFU divides by the
 * higher of `sgemmBefore` and that one (on a shared VM one measurement can catch the second core
 * busy, and a low rate would inflate every MFU).
 */
async function stepTable(shapes, cache, sgemmBefore) {
  const bf16 = child(['bf16gemm', '2048']);
  const measured = [];
  for (const shape of shapes) measured.push(await measureShape(shape, cache, Boolean(bf16)));
  const after = child(['sgemm', '1024', '2']);
  const bf16After = bf16 ? child(['bf16gemm', '2048']) : undefined;
  const sgemmGflops = Math.max(sgemmBefore ?? 0, after?.gflops ?? 0) || undefined;
  const bf16Gflops = Math.max(bf16?.gflops ?? 0, bf16After?.gflops ?? 0) || undefined;
  return {
    rows: measured.flatMap((m) => m({ f32: sgemmGflops, bf16: bf16Gflops })),
    sgemmAfter: after?.gflops,
    sgemmGflops,
    bf16: bf16 ? { gflops: bf16Gflops, isa: bf16.isa } : undefined,
  };
}

/** e3's steps of one shape in one precision: search and decoding, then distillation in its own process. */
function oursAt(dir, precision) {
  // Distillation in its own process: where it runs out of memory, the other two still report.
  const first = tryChild(['steps', dir, 'search,decode', precision]);
  const second = tryChild(['steps', dir, 'distill', precision]);
  return { ...first, ...second, peaks: { search: first.peak, decode: first.peak, distill: second.peak } };
}

/**
 * One shape's steps, ours (f32, and bf16 where `bf16` products run here) and PyTorch's; returns its
 * table rows for given matmul rates ({f32: sgemm, bf16: oneDNN bf16}, GFLOP/s).
 */
async function measureShape(shape, cache, bf16) {
  const dir = join(cache, shape);
  process.stderr.write(`${shape}: e3 search, distillation and decoding steps …\n`);
  const ours = oursAt(dir, 'f32');
  process.stderr.write(bf16 ? `${shape}: the same steps in bf16 …\n` : '');
  const oursBf16 = bf16 ? oursAt(dir, 'bf16') : undefined;
  optionSteps(shape, dir, { rate: ours.distill, peak: ours.peaks.distill });
  process.stderr.write(`${shape}: PyTorch steps …\n`);
  const torchAt = (autocast) => {
    try {
      return torchSteps(dir, TORCH_STEPS[shape] ?? 'search,distill,decode', autocast);
    } catch (e) {
      process.stderr.write(
        `${shape}: PyTorch${autocast ? ' (autocast)' : ''} failed (${String(e.message).split('\n')[0]})\n`,
      );
      return undefined;
    }
  };
  const torch = torchAt(false);
  const torchBf16 = oursBf16 ? torchAt(true) : undefined;
  return (rates) => [
    ...shapeRows(shape, ours, torch, { ours: rates.f32, torch: rates.f32 }, ''),
    ...(oursBf16 ? shapeRows(shape, oursBf16, torchBf16, { ours: rates.bf16, torch: rates.bf16 }, ' (bf16)') : []),
  ];
}

/**
 * Table rows of one shape's steps in one precision; MFU against `peak` GFLOP/s: for e3, its precision's
 * matmul rate; for PyTorch (f32), the sgemm rate.
 */
function shapeRows(shape, ours, torch, peak, label) {
  const rows = [];
  for (const step of ['search', 'distill', 'decode']) {
    const flops = FLOPS_PER_PARAM[step] * ours.parameters;
    const mfuOf = (rate, gflops) => (rate && gflops ? `${fmt((100 * flops * rate) / (gflops * 1e9), 1)}%` : '—');
    const mfu = (rate) => mfuOf(rate, peak.torch);
    const theirs = torch?.[step];
    if (ours[step] === undefined) {
      rows.push([
        shape,
        step + label,
        ours.error ?? 'not run',
        theirs ? fmt(theirs, 2) : 'not run',
        '—',
        `${fmt(flops / 1e9, 2)} G`,
        '—',
        '—',
        mfu(theirs),
        '—',
        torch?.peak_rss ? fmt(torch.peak_rss / GIB, 2) : '—',
      ]);
      continue;
    }
    rows.push([
      shape,
      step + label,
      fmt(ours[step], 2),
      theirs ? fmt(theirs, 2) : 'not run',
      theirs ? fmt(ours[step] / theirs, 2) : '—',
      `${fmt(flops / 1e9, 2)} G`,
      fmt((flops * ours[step]) / 1e9, 1),
      mfuOf(ours[step], peak.ours),
      mfu(theirs),
      fmt(ours.peaks[step] / GIB, 2),
      torch?.peak_rss ? fmt(torch.peak_rss / GIB, 2) : '—',
    ]);
  }
  return rows;
}

async function main() {
  const shapes = arg('shapes', QUICK ? 'qwen3-0.6b' : 'qwen3-0.6b,llama-3.2-1b').split(',');
  const cache = arg('cache', join(ROOT, '.e3-cache', 'scale'));
  const load0 = loadavg()[0];
  const rows = [];
  for (const shape of shapes) {
    const built = await ensureCheckpoint(shape, cache, process.argv.includes('--rebuild'));
    const info = modelInfo(built.dir);
    // wasm (the default backend) cannot hold more than 4 GiB: larger models load on cpu.
    const backend = 4 * info.parameters < WASM_MAX * 0.95 ? 'wasm' : 'cpu';
    const repeats = QUICK || info.parameters > 1e9 ? 1 : 3;
    const loads = [];
    for (let r = 0; r < repeats; r++) {
      process.stderr.write(`loading ${shape} on ${backend} (${r + 1}/${repeats}) …\n`);
      loads.push(child(['load', built.dir, backend]));
    }
    const seconds = median(loads.map((l) => l.seconds));
    process.stderr.write(`pruning one layer of ${shape} and exporting it …\n`);
    const exported = child(['export', built.dir, backend]);
    rows.push([
      shape,
      `${(info.parameters / 1e6).toFixed(0)} M`,
      `${(info.bytes / 1e9).toFixed(2)} GB`,
      `${fmt(built.seconds, 1)}${built.cached ? ' (cached)' : ''}`,
      fmt(info.wall, 2),
      fmt(info.loadSeconds, 3),
      `${fmt(seconds, 2)} (${loads.map((l) => fmt(l.seconds, 2)).join(', ')})`,
      fmt(info.bytes / 1e9 / seconds, 2),
      fmt(median(loads.map((l) => l.peak)) / GIB, 2),
      fmt((4 * info.parameters) / GIB, 2),
      fmt(exported.seconds, 1),
      fmt(exported.peak / GIB, 2),
      backend,
    ]);
  }
  const sgemm = [1, 2].map((t) => child(['sgemm', '1024', String(t)]));
  const gflops = sgemm.map((s) => (s ? fmt(s.gflops, 1) : 'no native addon'));
  const steps = process.argv.includes('--no-steps') ? undefined : await stepTable(shapes, cache, sgemm[1]?.gflops);
  const stepRows = steps?.rows ?? [];
  const text =
    header('Real-size checkpoints — build, inspect, load', {
      commit: commit(),
      'sgemm 1024×1024×1024 (native OpenBLAS, this run)':
        `${gflops[0]} GFLOP/s on 1 thread, ${gflops[1]} on 2` +
        (steps?.sgemmAfter ? `; ${fmt(steps.sgemmAfter, 1)} on 2 after the steps (MFU uses the higher)` : ''),
      'bf16 matmul 2048×2048×2048 (oneDNN, 2 threads, this run)': steps?.bf16
        ? `${fmt(steps.bf16.gflops, 1)} GFLOP/s (${steps.bf16.isa}; the higher of before and after the steps)`
        : 'not run (no oneDNN, or no bf16 arithmetic in this CPU)',
      conditions: `load average ${load0.toFixed(2)} at the start${arg('note') ? `; ${arg('note')}` : ''}`,
    }) +
    `\n${NOTES}\n\n` +
    table(COLUMNS, rows) +
    '\n' +
    (stepRows.length
      ? `\n## Search, distillation and decoding at size\n\n${STEP_NOTES}\n\n${table(STEP_COLUMNS, stepRows)}\n` +
        `\n## Memory options of the distillation step\n\n${OPTION_NOTES}\n\n${table(OPTION_COLUMNS, optionRows)}\n`
      : '');
  writeResult(QUICK ? 'scale.quick' : 'scale', text);
}

if (process.argv[2] === '--child') {
  const [, , , kind, ...rest] = process.argv;
  if (kind === 'load') await childLoad(rest[0], rest[1]);
  else if (kind === 'export') await childExport(rest[0], rest[1]);
  else if (kind === 'steps') await childSteps(rest[0], rest[1], rest[2]);
  else if (kind === 'bf16gemm') await childBf16Gemm(Number(rest[0]));
  else await childSgemm(Number(rest[0]), Number(rest[1]));
} else await main();
