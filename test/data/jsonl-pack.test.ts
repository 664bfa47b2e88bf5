import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { UserError } from '@e3/core';
import { encodeBatch, type Example, type TextTokenizer } from '@e3/plugins';
import { ROOT, tempDir } from '../helpers/files.js';
import { jsonlNode, runGraph, teacherGraph } from '../helpers/graphs.js';
import { jsonlFile, openQwen3Jsonl } from '../helpers/jsonl-data.js';
import { QWEN3_IDS, QWEN3_TOKENIZER_DIR, qwen3Tokenizer } from '../helpers/qwen3-tokenizer.js';

const DOCS = [
  'The quick brown fox jumps over the lazy dog.',
  'Pack me',
  'A third document, somewhat longer than the others, so that it spans rows.',
  'end',
];

const textFile = (docs: readonly string[]) => jsonlFile(docs.map((text) => ({ text })));
const open = openQwen3Jsonl;

describe('data.jsonl: packing and cutting {text} records', function () {
  this.timeout(60000);
  let tok: TextTokenizer;
  before(async () => {
    tok = await qwen3Tokenizer();
  });

  it('packs documents, end token after each, into rows of exactly maxTokens tokens (the last keeps the rest)', async () => {
    const d = await open(textFile(DOCS), { pack: true, maxTokens: 8 });
    const rows = await d.calibration(1000);
    assert.equal(rows.length, d.trainSize);
    const stream = DOCS.flatMap((t) => [...tok.encode(t), QWEN3_IDS.imEnd]);
    assert.equal(d.trainSize, Math.ceil((stream.length - 1) / 8));
    rows.forEach((r, i) => {
      const ids = r.tokens!.ids;
      if (i < rows.length - 1) assert.equal(ids.length, 9, 'maxTokens inputs + the label-only next id');
      assert.deepEqual(ids, stream.slice(i * 8, i * 8 + 9));
    });
    const batch = encodeBatch(rows, { tokenizer: tok, eosId: QWEN3_IDS.imEnd, padId: QWEN3_IDS.endOfText });
    batch.ids.slice(0, -1).forEach((row, i) => {
      assert.equal(row.length, 8);
      assert.deepEqual(batch.labels[i], stream.slice(i * 8 + 1, i * 8 + 9), 'loss on every token, across documents');
    });
    const ends = stream.flatMap((id, i) => (id === QWEN3_IDS.imEnd ? [i] : []));
    assert.equal(ends.length, DOCS.length);
    assert.match(rows[0].source!, /d\.jsonl:1(,2)?$/);
  });

  it('the held-out split is by record: no document is in both; the same seed gives the same rows', async () => {
    const docs = Array.from({ length: 20 }, (_, i) => `document number ${i} says ${'word '.repeat(i % 5)}`);
    const path = textFile(docs);
    const d = await open(path, { pack: true, maxTokens: 16, heldoutFraction: 0.25 });
    const lines = (rows: Example[]) => new Set(rows.flatMap((r) => r.source!.split(':').pop()!.split(',').map(Number)));
    const held = lines(await d.heldout());
    const train = lines(await d.calibration(1000));
    assert.equal(held.size, 5);
    assert.equal(train.size, 15);
    for (const l of held) assert.ok(!train.has(l), `line ${l} is in both splits`);
    const again = await open(path, { pack: true, maxTokens: 16, heldoutFraction: 0.25 });
    assert.deepEqual(await again.trainBatch(3, 2), await d.trainBatch(3, 2));
    assert.equal(again.fingerprint, d.fingerprint);
    const other = await open(path, { pack: true, maxTokens: 12, heldoutFraction: 0.25 });
    assert.notEqual(other.fingerprint, d.fingerprint);
  });

  it('without pack, each record is cut to maxTokens tokens; shorter ones stay whole', async () => {
    const path = jsonlFile([JSON.stringify({ text: DOCS[2] }), '{"prompt": "2+2=", "answer": "4"}']);
    const d = await open(path, { maxTokens: 8, tokenizer: null });
    const [long, pair] = await d.calibration(2);
    const codec = { tokenizer: tok, eosId: QWEN3_IDS.imEnd, padId: QWEN3_IDS.endOfText };
    const b = encodeBatch([long, pair], codec, true);
    assert.equal(
      b.attention[0].reduce((a, c) => a + c, 0),
      8,
    );
    assert.deepEqual(b.ids[0], tok.encode(DOCS[2]).slice(0, 8));
    assert.deepEqual(b.labels[0], tok.encode(DOCS[2]).slice(1, 9));
    const whole = [...tok.encode('2+2='), ...tok.encode('4')];
    assert.equal(
      b.attention[1].reduce((a, c) => a + c, 0),
      whole.length,
    );
    assert.ok(whole.length < 8);
  });

  it('special tokens in {text} are parsed as special (one id), as Hugging Face tokenizers do by default', async () => {
    const d = await open(textFile(['<|im_start|>user\nHi<|im_end|>']), { pack: true, maxTokens: 64 });
    const [row] = await d.calibration(1);
    assert.equal(row.tokens!.ids[0], QWEN3_IDS.imStart);
    assert.equal(row.tokens!.ids.filter((id) => id === QWEN3_IDS.imEnd).length, 2, 'the literal one and the end token');
  });

  it('pack without maxTokens or tokenizer, and a non-text record when packing, are located errors', async () => {
    await assert.rejects(
      open(textFile(DOCS), { pack: true }),
      (e: unknown) =>
        e instanceof UserError && /node "data" field "params.pack" = true needs params.maxTokens/.test(e.message),
    );
    const path = jsonlFile([JSON.stringify({ text: 'a' }), '{"prompt": "1+1=", "answer": "2"}']);
    await assert.rejects(
      open(path, { pack: true, maxTokens: 4 }),
      (e: unknown) => e instanceof UserError && e.message.startsWith(`${path}:2: pack: true joins plain`),
    );
  });

  it('rows packed with one tokenizer are refused by a model whose tokenizer differs', async () => {
    const d = await open(textFile(DOCS), { pack: true, maxTokens: 8 });
    const rows = await d.calibration(1);
    const small = { ...tok, size: 1000 } as TextTokenizer;
    assert.throws(
      () => encodeBatch(rows, { tokenizer: small, eosId: 0, padId: 0 }),
      (e: unknown) =>
        e instanceof UserError &&
        /packed with the tokenizer in .* \(151669 tokens\), but the model's tokenizer has 1000/.test(e.message),
    );
  });

  it("through e3 run: packed rows reach the teacher cache; another tokenizer than the model's is refused", () => {
    const sums = Array.from({ length: 30 }, (_, i) => `${i}+${i}=${2 * i}`);
    const path = textFile(sums);
    const teacher = join(ROOT, 'models', 'arith-teacher');
    const run = (tokenizer: string) =>
      runGraph(
        teacherGraph(jsonlNode(path, `pack: true, maxTokens: 16, tokenizer: "${tokenizer}"`), join(tempDir(), 'cache')),
      );
    const ok = run(teacher);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.log, /0 examples reused, \d+ computed now/);
    const other = run(QWEN3_TOKENIZER_DIR);
    assert.equal(other.code, 1, other.stderr);
    assert.match(
      other.stderr,
      /packed with the tokenizer in .*models \(151669 tokens\), but the model's tokenizer has/,
    );
    assert.doesNotMatch(other.stderr, /\n\s+at /);
  });
});
