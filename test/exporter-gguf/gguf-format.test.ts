import { strict as assert } from 'node:assert';
import { existsSync, openSync, readSync, statSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { gguf } from '@huggingface/gguf';
import {
  cloneHandle,
  exportGguf,
  interleaveRopeRows,
  llama3RopeFactors,
  openSafetensors,
  quantizeQ8_0,
  tokenizerMetadata,
  type ModelHandle,
} from '@e3/plugins';
import { e3, ROOT, tempDir } from '../helpers/files.js';
import { ggufTestModel, oneBlockModel } from '../helpers/gguf-models.js';
import { useBackend } from '../helpers/tf.js';

const TEACHER = join(ROOT, 'models', 'arith-teacher');

/** The header, metadata and tensor infos of a GGUF file, parsed by Hugging Face's reader. */
async function readGguf(file: string) {
  const r = await gguf(file, { allowLocalFile: true });
  return { ...r, meta: r.metadata as unknown as Record<string, unknown> };
}

/** `n` bytes of `file` at `offset`. */
function bytesAt(file: string, offset: number, n: number): Buffer {
  const fd = openSync(file, 'r');
  const b = Buffer.alloc(n);
  readSync(fd, b, 0, n, offset);
  closeSync(fd);
  return b;
}

describe('GGUF export: the file, read back by @huggingface/gguf', function () {
  this.timeout(120_000);
  before(() => useBackend('cpu'));

  it('e3 prune --format gguf: v3 header, qwen3 metadata for the kept layers, tensors where they belong', async () => {
    const out = join(tempDir(), 'gguf');
    const r = e3(['prune', '--model', TEACHER, '--drop', '2,5', '--out', out, '--format', 'gguf']);
    assert.equal(r.code, 0, r.stderr);
    const file = join(out, 'model.gguf');
    assert.equal(r.stdout.trim(), file);
    const g = await readGguf(file);
    const m = g.meta;
    assert.equal(m.version, 3);
    assert.equal(m['general.architecture'], 'qwen3');
    assert.equal(m['general.file_type'], 0);
    const expected: Record<string, number> = {
      'qwen3.block_count': 6,
      'qwen3.context_length': 64,
      'qwen3.embedding_length': 64,
      'qwen3.feed_forward_length': 192,
      'qwen3.attention.head_count': 4,
      'qwen3.attention.head_count_kv': 2,
      'qwen3.attention.key_length': 16,
      'qwen3.attention.value_length': 16,
      'qwen3.rope.freq_base': 10000,
      'tokenizer.ggml.eos_token_id': 1,
      'tokenizer.ggml.padding_token_id': 0,
    };
    for (const [k, v] of Object.entries(expected)) assert.equal(m[k], v, k);
    assert.equal(m['qwen3.attention.layer_norm_rms_epsilon'], Math.fround(1e-6));
    assert.equal(m['tokenizer.ggml.model'], 'gpt2');
    assert.equal(m['tokenizer.ggml.pre'], 'default');
    // The char vocabulary in GPT-2's byte characters: " " is "Ġ"; <pad> <eos> <unk> are control tokens.
    const tokens = m['tokenizer.ggml.tokens'] as string[];
    assert.deepEqual(tokens, ['<pad>', '<eos>', '<unk>', ...'0123456789+-*='.split(''), 'Ġ']);
    assert.deepEqual(m['tokenizer.ggml.token_type'], [3, 3, 3, ...Array(15).fill(1)]);
    // Tensors: tied head (no output.weight), six blocks, ggml dimension order (innermost first).
    const infos = new Map(g.tensorInfos.map((t) => [t.name, t]));
    assert.equal(infos.size, 2 + 6 * 11);
    assert.ok(!infos.has('output.weight') && !infos.has('blk.6.attn_q.weight') && infos.has('blk.5.ffn_down.weight'));
    assert.deepEqual(infos.get('token_embd.weight')!.shape, [64n, 18n]);
    assert.deepEqual(infos.get('blk.0.attn_q.weight')!.shape, [64n, 64n]);
    assert.deepEqual(infos.get('blk.0.attn_k.weight')!.shape, [64n, 32n]);
    assert.deepEqual(infos.get('blk.0.ffn_down.weight')!.shape, [192n, 64n]);
    assert.deepEqual(infos.get('blk.0.attn_q_norm.weight')!.shape, [16n]);
    assert.equal(Number(g.tensorDataOffset) % 32, 0);
    for (const t of g.tensorInfos) assert.equal(Number(t.offset) % 32, 0, t.name);
    // blk.4 is the teacher's layer 6 (layers 2 and 5 dropped): its bytes are the source's.
    const src = openSafetensors(join(TEACHER, 'model.safetensors'));
    const want = new Float32Array(64 * 192);
    src.readFloat32Into('model.layers.6.mlp.up_proj.weight', want);
    const info = infos.get('blk.4.ffn_up.weight')!;
    const got = bytesAt(file, Number(g.tensorDataOffset + info.offset), want.byteLength);
    assert.ok(got.equals(Buffer.from(want.buffer)), 'blk.4.ffn_up.weight is not layer 6 of the source');
    const last = g.tensorInfos[g.tensorInfos.length - 1];
    const lastBytes = last.shape.reduce((a, b) => a * b, 1n) * 4n;
    assert.equal(statSync(file).size, Number(g.tensorDataOffset + last.offset + lastBytes));
  });

  it('Q8_0: norms stay F32, matrices are blocks of 34 bytes; file_type 7', async () => {
    const out = join(tempDir(), 'gguf');
    const r = e3(['prune', '--model', TEACHER, '--drop', '0', '--out', out, '--format', 'gguf', '--dtype', 'Q8_0']);
    assert.equal(r.code, 0, r.stderr);
    const g = await readGguf(join(out, 'model.gguf'));
    assert.equal(g.meta['general.file_type'], 7);
    assert.equal(g.meta['general.quantization_version'], 2);
    const types = new Map(g.tensorInfos.map((t) => [t.name, t.dtype as number]));
    assert.equal(types.get('blk.0.attn_q.weight'), 8);
    assert.equal(types.get('token_embd.weight'), 8);
    assert.equal(types.get('blk.0.attn_norm.weight'), 0);
    const q = g.tensorInfos.find((t) => t.name === 'blk.0.attn_q.weight')!;
    const next = g.tensorInfos[g.tensorInfos.indexOf(q) + 1];
    assert.equal(Number(next.offset - q.offset), Math.ceil((((64 * 64) / 32) * 34) / 32) * 32);
  });

  it('Llama: rope_freqs for Llama 3 scaling, q/k biases, untied output; Qwen2: its biases', async () => {
    const llama = await ggufTestModel('llama');
    const g = await readGguf(await exportGguf(llama, join(tempDir(), 'gguf'), { dtype: 'BF16' }));
    const infos = new Map(g.tensorInfos.map((t) => [t.name, t]));
    assert.equal(g.meta['general.architecture'], 'llama');
    assert.equal(g.meta['llama.block_count'], 4);
    assert.equal(g.meta['general.file_type'], 32);
    assert.deepEqual(infos.get('rope_freqs.weight')!.shape, [4n]);
    assert.equal(infos.get('blk.0.attn_q.weight')!.dtype, 30);
    assert.deepEqual(infos.get('blk.0.attn_k.bias')!.shape, [16n]);
    assert.deepEqual(infos.get('blk.3.ffn_gate.bias')!.shape, [64n]);
    assert.deepEqual(infos.get('output.weight')!.shape, [32n, 18n]);
    llama.dispose();
    const qwen2 = await ggufTestModel('qwen2');
    const g2 = await readGguf(await exportGguf(qwen2, join(tempDir(), 'gguf')));
    const names = g2.tensorInfos.map((t) => t.name);
    assert.ok(names.includes('blk.0.attn_v.bias') && !names.includes('blk.0.attn_output.bias'));
    assert.ok(!names.includes('rope_freqs.weight'));
    qwen2.dispose();
  });

  it('Q8_0 blocks, worked out by hand: f16 scale max|x|/127, then round(x/scale) half away from zero', () => {
    // d = 1 exactly (half 0x3c00): 127 → 127, 2.5 → 3, −2.5 → −3, 0.5 → 1, −0.4 → 0.
    const a = new Float32Array(32);
    a.set([127, 2.5, -2.5, 0.5, -0.4]);
    const qa = quantizeQ8_0(a);
    assert.equal(qa.length, 34);
    assert.equal(qa[0] | (qa[1] << 8), 0x3c00);
    assert.deepEqual([...new Int8Array(qa.buffer, 2, 5)], [127, 3, -3, 1, 0]);
    // x_j = (j − 16)/4: d = 4/127 = 2^−5 · 1.00787… → half 0x2808; x/d = (j − 16) · 7.9375.
    const b = Float32Array.from({ length: 32 }, (_, j) => (j - 16) / 4);
    const qb = quantizeQ8_0(b);
    assert.equal(qb[0] | (qb[1] << 8), 0x2808);
    const ints = new Int8Array(qb.buffer, 2, 32);
    assert.deepEqual([ints[0], ints[16], ints[17], ints[18], ints[31]], [-127, 0, 8, 16, 119]);
    assert.throws(() => quantizeQ8_0(new Float32Array(31)), /multiple of 32/);
  });

  it('Llama q/k rows go from rotate-half pairs (i, i + D/2) to interleaved pairs (2i, 2i + 1), per head', () => {
    // Two heads of D = 4, one column: head 0 rows 0..3 → 0, 2, 1, 3.
    const rows = interleaveRopeRows(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), 8, 2);
    assert.deepEqual([...rows], [0, 2, 1, 3, 4, 6, 5, 7]);
    // Rows of two columns move whole.
    const wide = interleaveRopeRows(Float32Array.from([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]), 4, 1);
    assert.deepEqual([...wide], [0, 0.5, 2, 2.5, 1, 1.5, 3, 3.5]);
  });

  it('Llama 3 rope factors, worked out in float64: 1, 7.667385…, 8, 8', () => {
    const c = {
      headDim: 8,
      ropeTheta: 10000,
      ropeScaling: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 },
    };
    const f = llama3RopeFactors(c as never);
    assert.deepEqual([...f], [1, Math.fround(7.6673851260097665), 8, 8]);
  });

  it('a char vocabulary with a two-byte character: written in byte characters, with the merge that rebuilds it', async () => {
    const h = await oneBlockModel({ chars: 'aé ' });
    const meta = new Map(tokenizerMetadata(h));
    const tokens = meta.get('tokenizer.ggml.tokens') as unknown as { values: string[] };
    assert.deepEqual(tokens.values.slice(3), ['a', 'Ã©', 'Ġ']);
    assert.deepEqual((meta.get('tokenizer.ggml.merges') as unknown as { values: string[] }).values, ['Ã ©']);
    h.dispose();
  });

  it('refuses what llama.cpp cannot load, before writing anything', async () => {
    const h = await ggufTestModel('qwen2');
    const noTokenizer = { ...h, tokenizerFiles: {} } as ModelHandle;
    const dir = join(tempDir(), 'gguf');
    await assert.rejects(exportGguf(noTokenizer, dir), /needs the model's tokenizer\.json/);
    assert.ok(!existsSync(dir));
    const pruned = cloneHandle(h, [0]);
    const wordPiece = {
      ...pruned,
      tokenizerFiles: { 'tokenizer.json': { model: { type: 'WordPiece', vocab: {} } } },
    } as ModelHandle;
    await assert.rejects(exportGguf(wordPiece, dir), /byte-level BPE vocabularies; this one is WordPiece/);
    assert.ok(!existsSync(dir));
    pruned.dispose();
    h.dispose();
    const r = e3(['prune', '--model', TEACHER, '--drop', '1', '--out', dir, '--dtype', 'Q8_0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--dtype Q8_0 is a GGUF storage type; add --format gguf/);
    assert.ok(!existsSync(dir));
  });
});
