#!/usr/bin/env node
// docs/SCALING.md's tables: the memory plan (the estimator of `e3 plan`, plugins/src/plan) of the
// e3-pruner pipeline for Qwen3-8B and Qwen3-32B, and the time arithmetic per stage. The models are
// header-only checkpoints (config.json + a bf16 safetensors header over a sparse hole: no disk, no
// weights), so nothing heavy runs: `node bench/scaling-doc.js` takes a few seconds.
//   node bench/scaling-doc.js           rewrites the tables between the markers of docs/SCALING.md
//   node bench/scaling-doc.js --check   exits 1 if the doc's tables differ from what it would write
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareGraph } from '@e3/core';
import { builtinModules, GraphShapes, planMemory, writeHeaderOnlyCheckpoint } from '@e3/plugins';
import { ROOT, table } from './lib/table.js';

/** The public model cards' configs (config.json fields). */
const MODELS = {
  'Qwen3-8B': {
    model_type: 'qwen3',
    hidden_size: 4096,
    intermediate_size: 12288,
    num_hidden_layers: 36,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    head_dim: 128,
    vocab_size: 151936,
    max_position_embeddings: 40960,
    tie_word_embeddings: false,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
  },
  'Qwen3-32B': {
    model_type: 'qwen3',
    hidden_size: 5120,
    intermediate_size: 25600,
    num_hidden_layers: 64,
    num_attention_heads: 64,
    num_key_value_heads: 8,
    head_dim: 128,
    vocab_size: 151936,
    max_position_embeddings: 40960,
    tie_word_embeddings: false,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
  },
};

/** The settings the tables assume (stated in the doc): 2,048-token sequences, 8 per batch, 25% pruned. */
const SEQUENCE = 2048;
const BATCH = 8;
const settings = (batch) => ({
  'vars.pruneRatio': 0.25,
  'nodes.targets.params.batchSize': batch,
  'nodes.search.params.searchBatchSize': batch,
  'nodes.search.params.batchSize': batch,
  'nodes.distill.params.batchSize': batch,
  'nodes.eval.params.examples': batch,
});
/** Distillation tokens: the E³-Pruner paper's budget (0.5B tokens). */
const DISTILL_TOKENS = 0.5e9;

/** Sustained FLOP/s per device class: this machine's sgemm (bench/results/scale.md), an H100 at an assumed MFU. */
function deviceClasses() {
  const scale = readFileSync(join(ROOT, 'bench/results/scale.md'), 'utf8');
  const m = /sgemm[^\n]*?([\d.]+) on 2/.exec(scale);
  if (!m) throw new Error('bench/results/scale.md gives no 2-thread sgemm GFLOP/s; run npm run bench:scale');
  const sgemm = Number(m[1]) * 1e9;
  const h100 = 989e12 * 0.4;
  return [
    { name: `this machine (2 cores, sgemm ${m[1]} GFLOP/s × 40%)`, flops: sgemm * 0.4 },
    { name: '1× H100 (bf16 dense 989 TFLOP/s × 40% MFU)', flops: h100 },
    { name: '8× H100 (same, perfect scaling)', flops: 8 * h100 },
  ];
}

const gib = (b) => (b / 2 ** 30).toFixed(1);
const sum = (items, kind) => items.filter((i) => !kind || kind.includes(i.kind)).reduce((a, i) => a + i.bytes, 0);

/** FLOPs-carrying parameters: every block's matrices and the output head (the embedding lookup computes nothing). */
function computeParams(shape) {
  const c = shape.config;
  return shape.parameters - c.vocabSize * c.hiddenSize * (c.tieWordEmbeddings ? 0 : 1);
}

function duration(seconds) {
  if (seconds < 1) return '< 1 s';
  if (seconds < 120) return `${seconds.toFixed(0)} s`;
  if (seconds < 2 * 3600) return `${(seconds / 60).toFixed(0)} min`;
  if (seconds < 2 * 86400) return `${(seconds / 3600).toFixed(1)} h`;
  if (seconds < 2 * 365 * 86400) return `${(seconds / 86400).toFixed(0)} days`;
  return `${(seconds / 365 / 86400).toFixed(0)} years`;
}

/** The plan of the e3-pruner pipeline on a header-only `config`, batches of `batch` sequences of `sequence` tokens. */
async function planFor(name, config, work, batch = BATCH, sequence = SEQUENCE) {
  const dir = writeHeaderOnlyCheckpoint(join(work, name), config);
  // A JSONL line of sequence − 1 bytes: the plan bounds a record's tokens by its bytes, + the end token.
  writeFileSync(join(work, 'text.jsonl'), JSON.stringify({ text: 'x'.repeat(sequence - 12) }) + '\n');
  const graph = join(work, `${name}.yaml`);
  writeFileSync(
    graph,
    `extends: ${join(ROOT, 'graphs/e3-pruner.yaml')}\nbackend: cpu\nvars: { teacher: ${dir} }\n` +
      `nodes:\n  data: { plugin: data.jsonl, params: { path: ${join(work, 'text.jsonl')} } }\n`,
  );
  const sets = Object.entries(settings(batch)).map(([k, v]) => `${k}=${v}`);
  const p = await prepareGraph(graph, { modules: builtinModules, sets });
  const limits = { backend: 'cpu', how: 'scaling-doc', hostBytes: Infinity, fused: true };
  const shapes = new GraphShapes(p.graph, p.registry);
  return {
    plan: planMemory(p.graph, p.loaded, limits, p.registry),
    spec: p.graph.spec,
    shapes: { teacher: shapes.modelOf('teacher'), student: shapes.modelOf('pruned') },
  };
}

/** Peaks of the search, the distillation and the run for a few batch shapes. */
async function variantTable(name, config, work) {
  const rows = [];
  for (const [batch, sequence] of [
    [1, 512],
    [1, 2048],
    [8, 512],
    [8, 2048],
  ]) {
    const { plan } = await planFor(name, config, work, batch, sequence);
    const peak = (id) => gib(plan.nodes.find((n) => n.id === id).peakBytes);
    rows.push([
      `${batch} × ${sequence}`,
      peak('targets'),
      peak('search'),
      peak('distill'),
      `**${gib(plan.peak.bytes)}**`,
    ]);
  }
  return table(
    ['batch (sequences × tokens)', 'teacher cache GiB', 'search GiB', 'distillation GiB', 'run peak GiB'],
    rows,
  );
}

function memoryTable(plan) {
  const rows = plan.nodes
    .filter((n) => n.items.length || n.resident.length)
    .map((n) => [
      n.id,
      n.plugin,
      gib(sum(n.resident)),
      gib(sum(n.items, ['weights'])),
      gib(sum(n.items, ['gradients', 'optimizer'])),
      gib(sum(n.items, ['activations', 'head', 'cache', 'transient'])),
      `**${gib(n.peakBytes)}**`,
      n.dominant ?? '',
    ]);
  return table(
    [
      'stage (node)',
      'plugin',
      'resident models GiB',
      'own weights GiB',
      'gradients + AdamW GiB',
      'activations, head, caches GiB',
      'peak GiB',
      'largest term',
    ],
    rows,
  );
}

function timeTable(spec, shapes) {
  const { teacher, student } = shapes;
  const [Nt, Ns] = [computeParams(teacher), computeParams(student)];
  const s = spec.nodes.search.params;
  const t = spec.nodes.targets.params;
  const calib = (t.calibration + t.heldout) * SEQUENCE;
  const searchTokens = s.restarts * s.steps * Math.min(s.searchBatchSize, s.calibration) * SEQUENCE;
  const initTokens = teacher.config.numLayers * s.calibration * SEQUENCE; // importance.klDrop: one pass per layer
  const evalTokens = spec.nodes.eval.params.examples * SEQUENCE;
  const stages = [
    ['teacher cache', '2·N_teacher', calib + DISTILL_TOKENS, 2 * Nt],
    ['search: klDrop init', '2·N_teacher', initTokens, 2 * Nt],
    ['search: mask steps', '4·N_teacher', searchTokens, 4 * Nt],
    ['distillation', '6·N_student', DISTILL_TOKENS, 6 * Ns],
    ['evaluation (likelihood)', '2·(N_student + N_teacher)', evalTokens, 2 * (Ns + Nt)],
  ];
  const devices = deviceClasses();
  const rows = stages.map(([stage, per, tokens, flops]) => [
    stage,
    per,
    tokens.toExponential(2),
    (flops * tokens).toExponential(2),
    ...devices.map((d) => duration((flops * tokens) / d.flops)),
  ]);
  return table(['stage', 'FLOPs per token', 'tokens', 'FLOPs', ...devices.map((d) => d.name)], rows);
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'e3-scaling-'));
  const parts = [];
  try {
    for (const [name, config] of Object.entries(MODELS)) {
      const { plan, spec, shapes } = await planFor(name, config, work);
      const c = shapes.teacher.config;
      parts.push(
        `### ${name}: ${c.numLayers} layers, d=${c.hiddenSize}, ffn ${c.intermediateSize}, ` +
          `${c.numHeads}q/${c.numKvHeads}kv heads, vocab ${c.vocabSize}, ` +
          `${(shapes.teacher.parameters / 1e9).toFixed(2)}B parameters ` +
          `(student: ${shapes.student.config.numLayers} layers, ${(shapes.student.parameters / 1e9).toFixed(2)}B)`,
        '',
        'Memory per stage (e3 as it is: f32 weights, f32 AdamW, fused blocks), ' +
          `run peak **${gib(plan.peak.bytes)} GiB** at "${plan.peak.node}":`,
        '',
        memoryTable(plan),
        '',
        "Peaks by batch shape (every node's batch set alike):",
        '',
        await variantTable(name, config, work),
        '',
        'Time per stage:',
        '',
        timeTable(spec, shapes),
        '',
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const body = parts.join('\n');
  const file = join(ROOT, 'docs/SCALING.md');
  const doc = readFileSync(file, 'utf8');
  const [begin, end] = ['<!-- scaling-tables:begin -->', '<!-- scaling-tables:end -->'];
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  if (i < 0 || j < i) throw new Error(`${file}: the markers ${begin} … ${end} are missing`);
  const next = `${doc.slice(0, i + begin.length)}\n${body}\n${doc.slice(j)}`;
  if (process.argv.includes('--check')) {
    if (next !== doc) {
      process.stderr.write(`${file}: tables out of date; run node bench/scaling-doc.js\n`);
      process.exitCode = 1;
    }
    return;
  }
  writeFileSync(file, next);
  process.stdout.write(`wrote the tables of ${file}\n`);
}

await main();
