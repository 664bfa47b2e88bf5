import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { initBackend, Logger, Rng, UserError, type BackendName, type CommandContributor } from '@e3/core';
import * as tf from '@tensorflow/tfjs-core';
import { exportCheckpoint } from '../exporter/export-checkpoint.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { generateText } from '../model/generate.js';
import { cloneHandle, requireTokenizer } from '../model/handle.js';
import { keptLayers } from '../model/prune-node.js';
import { unknownCharsWarning } from '../model/tokenizer.js';

/** `--ids 1,2,3` style lists. */
export function parseIntList(v: string, what: string): number[] {
  const parts = v.split(',').map((s) => s.trim()).filter(Boolean);
  const out = parts.map(Number);
  if (!parts.length || out.some((n) => !Number.isInteger(n) || n < 0)) throw new UserError(`${what} must be a comma-separated list of non-negative integers, got "${v}"`);
  return out;
}

/** One prompt per line; a final newline does not add an empty prompt. */
function readPrompts(file: string): string[] {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch { throw new UserError(`--prompts ${file}: cannot read the file`); }
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

const backendOption = (c: Command) => c.option('--backend <name>', 'auto | tensorflow | webgpu | wasm | cpu', 'auto');

async function start(o: { backend: string }): Promise<void> {
  const logger = new Logger('info');
  await initBackend(o.backend as BackendName, logger);
}

const modelCommand: CommandContributor = (program) => {
  const model = program.command('model').description('inspect checkpoints');
  backendOption(model.command('info').description('architecture, layers, parameters, dtype').argument('<dir>'))
    .action(async (dir: string, o) => {
      await start(o);
      const h = await loadCheckpoint(dir);
      const c = h.model.config;
      process.stdout.write(JSON.stringify({ dir, modelType: c.modelType, layers: c.numLayers, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize, heads: c.numHeads, kvHeads: c.numKvHeads, headDim: c.headDim, vocabSize: c.vocabSize, tiedEmbeddings: c.tieWordEmbeddings, parameters: h.model.parameterCount(), dtype: h.dtype, tokenizer: Boolean(h.tokenizer) }, null, 2) + '\n');
      h.dispose();
    });
  backendOption(model.command('logits').description('logits of every position as JSON (compare with transformers)').argument('<dir>')
    .requiredOption('--ids <ids>', 'token ids, comma-separated')
    .option('--mask <mask>', 'per-layer 1 (keep) / 0 (skip), comma-separated'))
    .action(async (dir: string, o) => {
      await start(o);
      const h = await loadCheckpoint(dir);
      const ids = parseIntList(o.ids, '--ids');
      const bad = ids.filter((i) => i >= h.model.config.vocabSize);
      if (bad.length) throw new UserError(`--ids: ${bad.join(', ')} out of range for vocab_size ${h.model.config.vocabSize}`);
      let mask: number[] | undefined;
      if (o.mask) {
        mask = parseIntList(o.mask, '--mask');
        if (mask.some((m) => m > 1)) throw new UserError('--mask entries must be 0 or 1');
        keptLayers(mask, h.model.numLayers, '--mask');
      }
      const logits = tf.tidy(() => h.model.forward(tf.tensor2d([ids], undefined, 'int32'), { mask }).logits);
      process.stdout.write(JSON.stringify((await logits.array())[0]) + '\n');
      logits.dispose();
      h.dispose();
    });
};

const generateCommand: CommandContributor = (program) => {
  backendOption(program.command('generate').description('complete prompts (greedy by default); --prompts: one per line in, one completion per line out')
    .argument('<dir>', 'model directory')
    .option('--prompt <text>', 'a single prompt')
    .option('--prompts <file>', 'a file with one prompt per line')
    .option('--max-new-tokens <n>', 'tokens to generate at most', '32')
    .option('--temperature <t>', 'sample at this temperature instead of greedy decoding')
    .option('--top-k <k>', 'with --temperature: sample among the k most likely tokens')
    .option('--seed <n>', 'seed for sampling', '0')
    .option('--batch-size <n>', 'prompts per batch', '64'))
    .action(async (dir: string, o) => {
      if ((o.prompt === undefined) === (o.prompts === undefined)) throw new UserError('give exactly one of --prompt TEXT or --prompts FILE');
      await start(o);
      const h = await loadCheckpoint(dir);
      const tok = requireTokenizer(h, 'e3 generate');
      const prompts = o.prompt !== undefined ? [o.prompt as string] : readPrompts(o.prompts);
      prompts.forEach((text, i) => {
        const warning = unknownCharsWarning(tok, text, `prompt ${i + 1}`);
        if (warning) process.stderr.write(`warning: ${warning}\n`);
      });
      const maxNewTokens = parseIntList(o.maxNewTokens, '--max-new-tokens')[0];
      const sample = o.temperature ? { temperature: Number(o.temperature), topK: o.topK ? Number(o.topK) : undefined, rng: new Rng(Number(o.seed)) } : undefined;
      const outs = await generateText(h, prompts, { maxNewTokens, sample, batchSize: Number(o.batchSize) });
      process.stdout.write(outs.map((s) => s.replace(/\n/g, '\\n')).join('\n') + '\n');
      h.dispose();
    });
};

const pruneCommand: CommandContributor = (program) => {
  backendOption(program.command('prune').description('remove named layers without training and export a loadable checkpoint')
    .requiredOption('--model <dir>', 'source checkpoint')
    .requiredOption('--drop <layers>', 'layer indices to remove, comma-separated')
    .requiredOption('--out <dir>', 'output directory (must not exist unless --force)')
    .option('--dtype <dtype>', 'F32 | F16 | BF16 (default: the source dtype)')
    .option('--force', 'replace an existing output directory'))
    .action(async (o) => {
      if (o.dtype && !['F32', 'F16', 'BF16'].includes(o.dtype)) throw new UserError(`--dtype must be F32, F16 or BF16, got ${o.dtype}`);
      await start(o);
      const h = await loadCheckpoint(o.model);
      const drop = parseIntList(o.drop, '--drop');
      const L = h.model.numLayers;
      const bad = drop.filter((i) => i >= L);
      if (bad.length) throw new UserError(`--drop: layer(s) ${bad.join(', ')} do not exist (the model has layers 0..${L - 1})`);
      const kept = keptLayers([...Array(L).keys()].map((i) => (drop.includes(i) ? 0 : 1)), L, '--drop');
      const pruned = cloneHandle(h, kept);
      const dir = await exportCheckpoint(pruned, o.out, { dtype: o.dtype, force: o.force, method: `e3 prune --drop ${drop.join(',')}` });
      process.stdout.write(`${dir}\n`);
      pruned.dispose();
      h.dispose();
    });
};

/** Commands the plugins package adds to `e3` (model inspection, generation, pruning). */
export const cliCommands: CommandContributor[] = [modelCommand, generateCommand, pruneCommand];
