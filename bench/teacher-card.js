#!/usr/bin/env node
// Measures the shipped teacher's held-out exact match through the CLI (`e3 generate --prompts`,
// greedy) and writes models/arith-teacher/README.md (the model card) with the figures.
//   node bench/teacher-card.js [--model models/arith-teacher]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@e3/core';
import { arithmeticDataset, extractAnswer } from '@e3/plugins';
import { arg, benchCli, ROOT } from './lib/table.js';
benchCli(
  "usage: node bench/teacher-card.js [--model models/arith-teacher]\n  Measures the teacher's held-out exact match and writes its model card (README.md beside it).",
  { model: { type: 'string', description: 'checkpoint directory', default: 'models/arith-teacher' } },
  { quick: false },
);

const model = arg('model', join(ROOT, 'models/arith-teacher'));
const graph = readFileSync(join(ROOT, 'graphs/train-teacher.yaml'), 'utf8');
const seed = Number(/^seed: (\d+)/m.exec(graph)[1]);
// The held-out split of the training graph's data node (same params, same seed → same split).
const data = arithmeticDataset({ ops: ['+', '-'], maxOperand: 99, heldoutFraction: 0.1, splitSeed: seed }, new Rng(0));
const held = await data.heldout();
const dir = mkdtempSync(join(tmpdir(), 'e3-card-'));
writeFileSync(join(dir, 'prompts.txt'), held.map((e) => e.prompt).join('\n') + '\n');
const t0 = performance.now();
const out = execFileSync(
  process.execPath,
  [
    join(ROOT, 'bin/e3.js'),
    'generate',
    model,
    '--prompts',
    join(dir, 'prompts.txt'),
    '--max-new-tokens',
    '6',
    '--batch-size',
    '256',
  ],
  { encoding: 'utf8', maxBuffer: 1 << 26 },
).split('\n');
const seconds = (performance.now() - t0) / 1000;
const correct = held.filter((e, i) => extractAnswer(out[i] ?? '') === e.answer).length;
const byOp = (op) => {
  const idx = held.map((e, i) => [e, i]).filter(([e]) => e.prompt.includes(op));
  return idx.filter(([e, i]) => extractAnswer(out[i] ?? '') === e.answer).length / idx.length;
};
const cfg = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8'));
const wrong = held
  .map((e, i) => [e, out[i]])
  .filter(([e, o]) => extractAnswer(o ?? '') !== e.answer)
  .slice(0, 8);
const card = `# arith-teacher

The small teacher e3-pruner ships and prunes: a **Qwen3-architecture** decoder (${cfg.num_hidden_layers} layers, hidden size ${cfg.hidden_size}, ${cfg.num_attention_heads} heads / ${cfg.num_key_value_heads} KV heads, head dim ${cfg.head_dim}, SwiGLU ${cfg.intermediate_size}, tied embeddings) with a **character-level** tokenizer.json (${cfg.vocab_size} tokens: \`<pad>\` 0, \`<eos>\` 1, \`<unk>\` 2, the digits, \`+ - * =\` and space). Hugging Face layout: \`config.json\`, \`model.safetensors\` (F32), \`tokenizer.json\`, \`tokenizer_config.json\`, \`generation_config.json\`.

## Task and prompt format

Exact-answer arithmetic: the prompt is \`A+B=\` or \`A-B=\` with A, B in 0..99, the completion is the integer (negative where it is) followed by \`<eos>\`. Example: \`37-52=\` → \`-15<eos>\`. No spaces, no leading zeros.

## Accuracy (held-out)

Greedy decoding through \`e3 generate ${model.replace(ROOT + '/', '')} --prompts FILE --max-new-tokens 6\` on the ${held.length} held-out problems of the training graph's split (never trained on): **${((100 * correct) / held.length).toFixed(2)}% exact match** (${correct}/${held.length}; addition ${(100 * byOp('+')).toFixed(1)}%, subtraction ${(100 * byOp('-')).toFixed(1)}%), measured by \`node bench/teacher-card.js\` in ${seconds.toFixed(0)} s. Answer extraction: the completion up to the end token, trimmed, must equal the answer string.

${wrong.length ? `Some misses: ${wrong.map(([e, o]) => `\`${e.prompt}\` → \`${o}\` (want \`${e.answer}\`)`).join(', ')}.` : ''}

## Training (reproducible)

\`e3 run graphs/train-teacher.yaml --out runs/teacher\` (seed ${seed}; resumable with \`--resume runs/teacher\`): data.arithmetic (90/10 split), model.init (seeded init, std 0.02), trainer.train with cross-entropy on the answer and end tokens, AdamW (lr 3e-3, β2 0.98, weight decay 0.01), 150 warm-up steps then cosine decay over 5,000 steps of 64 problems (≈2.6M tokens), gradient clip 1.0. Trained on the wasm backend with its own matmul (the native OpenBLAS matmul arrived later; set \`E3_NATIVE_BLAS=0\` to reproduce bit for bit — other kernels give the same model up to float rounding).

## Why it is worth pruning

Its layers are not equally needed — see \`bench/results/mask-quality.md\` for what each method removes at 25%, 37.5% and 50% and what it costs before and after recovery.
`;
writeFileSync(join(model, 'README.md'), card);
console.log(
  `${((100 * correct) / held.length).toFixed(2)}% exact match (${correct}/${held.length}); wrote ${join(model, 'README.md')}`,
);
