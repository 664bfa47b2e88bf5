import { strict as assert } from 'node:assert';
import { Rng } from '@e3/core';
import {
  brownDataset,
  byteTokenizerJson,
  charTokenizerConfig,
  loadTokenizerFromJson,
  mixDatasets,
  arithmeticDataset,
  untag,
} from '@e3/plugins';

describe('text data and the byte-level tokenizer', function () {
  this.timeout(60000);

  it('byte-level tokenizer.json round-trips any text, one token per UTF-8 byte', async () => {
    const t = await loadTokenizerFromJson(byteTokenizerJson(), charTokenizerConfig());
    for (const s of ['12+34=46', 'The jury said, "no evidence."', 'naïve café ✓']) {
      const ids = t.encode(s);
      assert.equal(ids.length, Buffer.byteLength(s, 'utf8'));
      assert.equal(t.decode(ids), s);
      assert.ok(ids.every((i) => i >= 3 && i < 259));
    }
  });

  it('Brown sentences: tags removed, quotes and spacing restored, deterministic split', async () => {
    assert.equal(untag("The/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ./."), 'The jury said "no evidence".');
    const a = brownDataset({ maxChars: 48, heldoutFraction: 0.05, splitSeed: 1234, limit: 2000 }, new Rng(0));
    const b = brownDataset({ maxChars: 48, heldoutFraction: 0.05, splitSeed: 1234, limit: 2000 }, new Rng(0));
    assert.deepEqual(await a.heldout(5), await b.heldout(5));
    assert.ok(
      (await a.trainBatch(0, 8)).every((e) => e.prompt === '' && e.answer.length <= 48 && !/\/[a-z]/.test(e.answer)),
    );
  });

  it('data.mix takes the weighted share of each batch from each source', async () => {
    const arith = arithmeticDataset({ ops: ['+'], maxOperand: 9, heldoutFraction: 0.2 }, new Rng(1));
    const text = brownDataset({ maxChars: 32, heldoutFraction: 0.05, splitSeed: 1, limit: 500 }, new Rng(1));
    const mix = mixDatasets(arith, text, 0.25);
    const batch = await mix.trainBatch(3, 8);
    assert.equal(batch.filter((e) => e.prompt).length, 2);
    assert.equal(batch.filter((e) => !e.prompt).length, 6);
    const held = await mix.heldout(6);
    assert.deepEqual(
      held.map((e) => (e.prompt ? 'a' : 'b')),
      ['a', 'b', 'a', 'b', 'a', 'b'],
    );
  });
});
