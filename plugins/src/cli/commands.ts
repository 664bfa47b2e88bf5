import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { integerList, seedInteger, positiveInteger, positiveNumber, type CommandContributor } from '@e3/cli';
import { BACKEND_NAMES, initBackend, Logger, requirePath, Rng, UserError, type BackendName } from '@e3/core';
import * as tf from '@tensorflow/tfjs-core';
import { exportCheckpoint } from '../exporter/export-checkpoint.js';
import { exportGguf } from '../exporter-gguf/export-gguf.js';
import { inspectCheckpoint, loadCheckpoint } from '../model/checkpoint.js';
import { generateText } from '../model/generate.js';
import { cloneHandle, requireTokenizer } from '../model/handle.js';
import { keptLayers } from '../model/prune-node.js';
import { unknownCharsWarning } from '../model/tokenizer.js';
import { reportCommand } from '../report/report-command.js';

/** One prompt per line; a final newline does not add an empty prompt. */
function readPrompts(file: string): string[] {
  requirePath(file, 'file', '--prompts file');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: --prompts file cannot be read (${code}) (fix: check its permissions)`);
  }
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

const backendOption = (c: Command) =>
  c.addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(BACKEND_NAMES).default('auto'));

async function start(o: { backend: BackendName }): Promise<void> {
  const logger = new Logger('info');
  await initBackend(o.backend, logger);
}

const modelCommand: CommandContributor = (program) => {
  const model = program.command('model').description('inspect checkpoints');
  // Reads config.json and the safetensors headers only (never the weights): instant at any size.
  backendOption(
    model
      .command('info')
      .description('architecture, layers, parameters, dtype (weights are not read)')
      .argument('<dir>'),
  ).action(async (dir: string) => {
    const t0 = performance.now();
    const { config: c, parameters, dtype, bytes, tokenizer } = inspectCheckpoint(dir);
    const info = {
      dir,
      modelType: c.modelType,
      layers: c.numLayers,
      hiddenSize: c.hiddenSize,
      intermediateSize: c.intermediateSize,
      heads: c.numHeads,
      kvHeads: c.numKvHeads,
      headDim: c.headDim,
      vocabSize: c.vocabSize,
      tiedEmbeddings: c.tieWordEmbeddings,
      parameters,
      dtype,
      tokenizer,
      bytes,
      loadSeconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
    };
    process.stdout.write(JSON.stringify(info, null, 2) + '\n');
  });
  backendOption(
    model
      .command('logits')
      .description('logits of every position as JSON (compare with transformers)')
      .argument('<dir>')
      .requiredOption('--ids <ids>', 'token ids, comma-separated', integerList)
      .option('--mask <mask>', 'per-layer 1 (keep) / 0 (skip), comma-separated', integerList),
  ).action(async (dir: string, o) => {
    await start(o);
    const h = await loadCheckpoint(dir);
    const ids: number[] = o.ids;
    const bad = ids.filter((i) => i >= h.model.config.vocabSize);
    if (bad.length)
      throw new UserError(`--ids: ${bad.join(', ')} out of range for vocab_size ${h.model.config.vocabSize}`);
    const mask: number[] | undefined = o.mask;
    if (mask) {
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
  backendOption(
    program
      .command('generate')
      .description('complete prompts (greedy by default); --prompts: one per line in, one completion per line out')
      .argument('<dir>', 'model directory')
      .option('--prompt <text>', 'a single prompt')
      .option('--prompts <file>', 'a file with one prompt per line')
      .option('--max-new-tokens <n>', 'tokens to generate at most', positiveInteger, 32)
      .option('--temperature <t>', 'sample at this temperature instead of greedy decoding', positiveNumber)
      .option('--top-k <k>', 'with --temperature: sample among the k most likely tokens', positiveInteger)
      .option('--seed <n>', 'seed for sampling', seedInteger, 0)
      .option('--batch-size <n>', 'prompts per batch', positiveInteger, 64),
  ).action(async (dir: string, o) => {
    if ((o.prompt === undefined) === (o.prompts === undefined))
      throw new UserError('give exactly one of --prompt TEXT or --prompts FILE');
    if (o.topK !== undefined && o.temperature === undefined) {
      throw new UserError('--top-k only applies when sampling (fix: add --temperature, e.g. --temperature 1)');
    }
    await start(o);
    const h = await loadCheckpoint(dir);
    const tok = requireTokenizer(h, 'e3 generate');
    const prompts = o.prompt !== undefined ? [o.prompt as string] : readPrompts(o.prompts);
    prompts.forEach((text, i) => {
      const warning = unknownCharsWarning(tok, text, `prompt ${i + 1}`);
      if (warning) process.stderr.write(`warning: ${warning}\n`);
    });
    const sample =
      o.temperature === undefined ? undefined : { temperature: o.temperature, topK: o.topK, rng: new Rng(o.seed) };
    const outs = await generateText(h, prompts, { maxNewTokens: o.maxNewTokens, sample, batchSize: o.batchSize });
    process.stdout.write(outs.map((s) => s.replace(/\n/g, '\\n')).join('\n') + '\n');
    h.dispose();
  });
};

const pruneCommand: CommandContributor = (program) => {
  backendOption(
    program
      .command('prune')
      .description('remove named layers without training and export a loadable checkpoint (Hugging Face or GGUF)')
      .requiredOption('--model <dir>', 'source checkpoint')
      .requiredOption('--drop <layers>', 'layer indices to remove, comma-separated', integerList)
      .requiredOption('--out <dir>', 'output directory (new or empty; an earlier e3 export with --force)')
      .addOption(
        new Option('--format <format>', 'hf: a Hugging Face checkpoint; gguf: <out>/model.gguf for llama.cpp')
          .choices(['hf', 'gguf'])
          .default('hf'),
      )
      .addOption(
        new Option(
          '--dtype <dtype>',
          'weights dtype of the output (default: the source dtype; Q8_0: gguf only)',
        ).choices(['F32', 'F16', 'BF16', 'Q8_0']),
      )
      .option('--force', 'replace an existing output directory that e3 wrote (never the source model)'),
  ).action(async (o) => {
    if (o.dtype === 'Q8_0' && o.format !== 'gguf')
      throw new UserError('--dtype Q8_0 is a GGUF storage type; add --format gguf (or choose F32, F16 or BF16)');
    await start(o);
    const h = await loadCheckpoint(o.model);
    const drop: number[] = o.drop;
    const L = h.model.numLayers;
    const bad = drop.filter((i) => i >= L);
    if (bad.length)
      throw new UserError(`--drop: layer(s) ${bad.join(', ')} do not exist (the model has layers 0..${L - 1})`);
    const kept = keptLayers(
      [...Array(L).keys()].map((i) => (drop.includes(i) ? 0 : 1)),
      L,
      '--drop',
    );
    const pruned = cloneHandle(h, kept);
    const how = { force: o.force, method: `e3 prune --drop ${drop.join(',')}`, what: '--out' };
    const written =
      o.format === 'gguf'
        ? await exportGguf(pruned, o.out, { ...how, dtype: o.dtype })
        : await exportCheckpoint(pruned, o.out, { ...how, dtype: o.dtype });
    process.stdout.write(`${written}\n`);
    pruned.dispose();
    h.dispose();
  });
};

/** Commands the plugins package adds to `e3` (model inspection, generation, pruning). */
export const cliCommands: CommandContributor[] = [modelCommand, generateCommand, pruneCommand, reportCommand];
