import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import {
  architectureMetadata,
  cloneHandle,
  exportGguf,
  generateIds,
  ggufTensors,
  loadCheckpoint,
  loadTokenizerFromJson,
  makeHandle,
  tokenizerMetadata,
  writeGguf,
  type GgufDtype,
  type ModelHandle,
} from '@e3/plugins';
import { readFileSync } from 'node:fs';
import { ROOT, tempDir } from '../helpers/files.js';
import { runGraph } from '../helpers/graphs.js';
import { QWEN3_TOKENIZER_DIR, qwen3Tokenizer } from '../helpers/qwen3-tokenizer.js';
import { ggufTestModel, oneBlockModel } from '../helpers/gguf-models.js';
import { f32Context, greedy, llamaCpp, roundTrip, type LlamaCpp } from '../helpers/llama-cpp.js';
import { skipBecause } from '../helpers/skip.js';
import { useBackend } from '../helpers/tf.js';

/** Writes `h` as GGUF with its Llama q/k rows as Hugging Face stores them (no reordering): a wrong layout. */
async function writeUnpermuted(h: ModelHandle, file: string): Promise<void> {
  const right = ggufTensors(h, 'F32');
  const hf = new Map([...h.model.named()].map(([name, t]) => [name, t]));
  const tensors = right.map((t) => {
    const m = /^blk\.(\d+)\.attn_(q|k)\.(weight|bias)$/.exec(t.name);
    if (!m) return t;
    const v = hf.get(`model.layers.${m[1]}.self_attn.${m[2]}_proj.${m[3]}`)!;
    return { ...t, bytes: async () => new Uint8Array((await v.data()).slice().buffer) };
  });
  await writeGguf(file, [...architectureMetadata(h, 'F32'), ...tokenizerMetadata(h)], tensors);
}

/** Sentences for the tokenizer round trips: digits, contractions, CJK, emoji, whitespace runs, chat markup. */
const SENTENCES = [
  'Hello, world! The year 2024 had 366 days; 1234567 is longer.',
  "I'm sure they've gone — it's 3.14159 km away.",
  '数学很有趣，我们一起学习吧。',
  'Emoji 🙂🚀 and accents: café, naïve, Ångström.',
  'Tabs\tand  double spaces\n\nnew lines  \n  indented code: def f(x):\n    return x**2',
  '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n4<|im_end|>',
];

/** Qwen3's tokenizer.json and tokenizer_config.json objects (fresh copies). */
const qwen3Files = (): Record<string, Record<string, unknown>> =>
  Object.fromEntries(
    ['tokenizer.json', 'tokenizer_config.json'].map((f) => [
      f,
      JSON.parse(readFileSync(join(QWEN3_TOKENIZER_DIR, f), 'utf8')),
    ]),
  );

describe('GGUF export, checked by llama.cpp (node-llama-cpp)', function () {
  this.timeout(300_000);
  let llama: LlamaCpp;
  let teacher: ModelHandle;
  let pruned: ModelHandle;
  let prompts: number[][];

  before(async function () {
    const l = await llamaCpp();
    if (typeof l === 'string') skipBecause(this, l);
    llama = l;
    await useBackend('cpu');
    teacher = await loadCheckpoint(join(ROOT, 'models', 'arith-teacher'));
    pruned = cloneHandle(teacher, [0, 1, 3, 4, 6, 7]);
    prompts = ['12+35=', '7*8=', '90-45=', '3+4='].map((s) => pruned.tokenizer!.encode(s));
  });
  after(() => {
    pruned?.dispose();
    teacher?.dispose();
  });

  it('arith-teacher pruned to 6 of 8 layers, f32: logits within 1e-3 of the largest, same argmax', async () => {
    const file = await exportGguf(pruned, join(tempDir(), 'gguf'));
    const r = await roundTrip(llama, file, pruned, prompts);
    assert.ok(r.relLogit < 1e-3, `log-probability difference ${r.relLogit} of the largest |logit|`);
    assert.ok(r.probDiff < 1e-3, `probability difference ${r.probDiff}`);
    assert.ok(r.sameArgmax);
  });

  it('arith-teacher f32: greedy generation equals e3 token for token, to the end token', async () => {
    const file = await exportGguf(pruned, join(tempDir(), 'gguf'));
    const model = await llama.loadModel({ modelPath: file });
    const ctx = await f32Context(model);
    try {
      const seq = ctx.getSequence();
      // Both stop at the end token (llama.cpp's evaluate ends at an end-of-generation token without yielding it).
      const ours = await generateIds(pruned, prompts, { maxNewTokens: 12 });
      for (const [i, ids] of prompts.entries()) assert.deepEqual(await greedy(seq, ids, 12), ours[i]);
    } finally {
      await ctx.dispose();
      await model.dispose();
    }
  });

  // Stated tolerances of the storage types that round the weights (relative to the largest |logit|).
  const looser: [GgufDtype, number][] = [
    ['BF16', 2e-2],
    ['F16', 3e-3],
    ['Q8_0', 5e-2], // llama.cpp also rounds the activations to 8 bits in its Q8_0 products
  ];
  for (const [dtype, tol] of looser)
    it(`arith-teacher ${dtype}: logits within ${tol} of the largest, same argmax`, async () => {
      const file = await exportGguf(pruned, join(tempDir(), 'gguf'), { dtype });
      const r = await roundTrip(llama, file, pruned, prompts);
      assert.ok(r.relLogit < tol, `${dtype}: log-probability difference ${r.relLogit} of the largest |logit|`);
      assert.ok(r.sameArgmax, `${dtype}: argmax differs`);
    });

  it('Llama (GQA, biases, Llama 3 rope scaling), f32: matches; without the q/k reordering it does not', async () => {
    const h = cloneHandle(await ggufTestModel('llama'), [0, 2, 3]);
    const ids = [[4, 5, 13, 6, 8, 16, 9, 17, 3, 7, 14, 11]];
    const file = await exportGguf(h, join(tempDir(), 'gguf'));
    const r = await roundTrip(llama, file, h, ids);
    assert.ok(r.relLogit < 1e-3, `log-probability difference ${r.relLogit} of the largest |logit|`);
    const wrong = join(tempDir(), 'wrong.gguf');
    await writeUnpermuted(h, wrong);
    const w = await roundTrip(llama, wrong, h, ids);
    assert.ok(w.relLogit > 1e-2, `the wrong layout still matches (${w.relLogit})`);
    h.dispose();
  });

  it('Qwen2 (q/k/v biases, untied head), f32: matches', async () => {
    const h = cloneHandle(await ggufTestModel('qwen2'), [1, 2, 3]);
    const file = await exportGguf(h, join(tempDir(), 'gguf'));
    const r = await roundTrip(llama, file, h, [[4, 5, 13, 6, 8, 16, 9, 17, 3]]);
    assert.ok(r.relLogit < 1e-3, `log-probability difference ${r.relLogit} of the largest |logit|`);
    h.dispose();
  });

  it("e3 run with exporter.gguf: the pruned teacher loads in llama.cpp and matches the graph's own pruned model", async () => {
    const graph =
      [
        'apiVersion: e3/v1',
        'nodes:',
        '  teacher: { plugin: model.hfCheckpoint, params: { path: models/arith-teacher } }',
        '  mask: { plugin: masker.fixed, params: { drop: [2, 5] }, in: { model: teacher.model } }',
        '  pruned: { plugin: model.prune, in: { model: teacher.model, mask: mask.mask } }',
        '  export: { plugin: exporter.gguf, params: { dir: gguf }, in: { model: pruned.model } }',
      ].join('\n') + '\n';
    const r = runGraph(graph);
    assert.equal(r.code, 0, r.stderr);
    const record = JSON.parse(readFileSync(join(r.out, 'gguf', 'e3_pruning.json'), 'utf8'));
    assert.deepEqual(record.keptLayers, [0, 1, 3, 4, 6, 7]);
    const w = await roundTrip(llama, join(r.out, 'gguf', 'model.gguf'), pruned, prompts.slice(0, 2));
    assert.ok(w.relLogit < 1e-3 && w.sameArgmax, `log-probability difference ${w.relLogit}`);
  });

  it("Qwen3's real tokenizer: llama.cpp tokenizes as e3 does; the chat template travels", async () => {
    const tok = await qwen3Tokenizer();
    const files = qwen3Files();
    const random = await oneBlockModel({
      config: { vocab_size: 151_936, bos_token_id: 151_643, eos_token_id: 151_645 },
    });
    const h = makeHandle({ ...random, tokenizer: tok, tokenizerFiles: files });
    const file = await exportGguf(h, join(tempDir(), 'gguf'));
    const model = await llama.loadModel({ modelPath: file });
    const sentences = SENTENCES;
    try {
      for (const s of sentences) assert.deepEqual(model.tokenize(s, true), tok.encode(s), s);
      assert.equal(model.detokenize(tok.encode(sentences[3])), sentences[3]);
    } finally {
      await model.dispose();
      h.dispose();
    }
    const { gguf } = await import('@huggingface/gguf');
    const meta = (await gguf(file, { allowLocalFile: true })).metadata as unknown as Record<string, unknown>;
    assert.equal(meta['tokenizer.ggml.pre'], 'qwen2');
    assert.equal(meta['tokenizer.chat_template'], files['tokenizer_config.json']!.chat_template);
    assert.equal(meta['tokenizer.ggml.eos_token_id'], 151_645);
    assert.equal(meta['tokenizer.ggml.bos_token_id'], 151_643);
    assert.equal(meta['tokenizer.ggml.add_bos_token'], false);
    assert.equal((meta['tokenizer.ggml.tokens'] as string[]).length, 151_936);
  });

  // Qwen3's vocabulary has no multi-digit tokens, so this checks the llama-bpe path (and whole words first), not the digits.
  it("Llama 3's pre-tokenizer (llama-bpe), on Qwen3's vocabulary: llama.cpp tokenizes as e3 does", async () => {
    const files = qwen3Files();
    const json = files['tokenizer.json'] as {
      pre_tokenizer: { pretokenizers: { pattern?: { Regex: string } }[] };
      model: { ignore_merges: boolean };
    };
    const split = json.pre_tokenizer.pretokenizers[0].pattern!;
    split.Regex = split.Regex.replace('|\\p{N}|', '|\\p{N}{1,3}|');
    json.model.ignore_merges = true;
    const tok = await loadTokenizerFromJson(json as never, files['tokenizer_config.json']!);
    const random = await oneBlockModel({ config: { model_type: 'llama', vocab_size: 151_936 } });
    const h = makeHandle({ ...random, tokenizer: tok, tokenizerFiles: files });
    const file = await exportGguf(h, join(tempDir(), 'gguf'));
    const { gguf } = await import('@huggingface/gguf');
    const meta = (await gguf(file, { allowLocalFile: true })).metadata as unknown as Record<string, unknown>;
    assert.equal(meta['tokenizer.ggml.pre'], 'llama-bpe');
    const model = await llama.loadModel({ modelPath: file });
    try {
      for (const s of SENTENCES) assert.deepEqual(model.tokenize(s, true), tok.encode(s), s);
    } finally {
      await model.dispose();
      h.dispose();
    }
  });

  it('a char vocabulary beyond ASCII: llama.cpp tokenizes as e3 does (unknown characters: dropped, not <unk>)', async () => {
    const h = await oneBlockModel({ chars: 'abcé€ 12+=' });
    const file = await exportGguf(h, join(tempDir(), 'gguf'));
    const model = await llama.loadModel({ modelPath: file });
    try {
      for (const s of ['abc é€', '12+21=11 ', 'é€é'])
        assert.deepEqual(model.tokenize(s, false), h.tokenizer!.encode(s), s);
      // A character outside the vocabulary: e3 gives <unk> (id 2), llama.cpp's BPE drops it.
      assert.deepEqual(h.tokenizer!.encode('a3'), [3, 2]);
      assert.deepEqual(model.tokenize('a3', false), [3]);
    } finally {
      await model.dispose();
      h.dispose();
    }
  });
});
