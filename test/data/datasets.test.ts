import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { Rng, UserError } from '@e3/core';
import {
  arithmeticDataset,
  allProblems,
  encodeBatch,
  jsonlDataset,
  charTokenizerJson,
  charTokenizerConfig,
  loadTokenizerFromJson,
} from '@e3/plugins';
import { writeFiles } from '../helpers/files.js';

const P = {
  promptField: 'prompt',
  answerField: 'answer',
  textField: 'text',
  messagesField: 'messages',
  pack: false,
  heldoutFraction: 0.25,
};

describe('data', () => {
  it('arithmetic steps: + and - worked column by column, carries and borrows as by hand', () => {
    const steps = allProblems({ ops: ['+', '-', '*'], maxOperand: 99, heldoutFraction: 0.1, format: 'steps' });
    const answer = (prompt: string) => steps.find((e) => e.prompt === prompt)?.answer;
    assert.equal(answer('47+85='), '7+5=12,4+8+1=13;132');
    assert.equal(answer('5+3='), '5+3=8;8');
    assert.equal(answer('99+1='), '9+1=10,9+0+1=10;100');
    assert.equal(answer('52-38='), '2-8+10=4,5-3-1=1;14');
    assert.equal(answer('90-9='), '0-9+10=1,9-0-1=8;81');
    assert.equal(answer('3-9='), '9-3=6;-6');
    assert.equal(answer('12-40='), '0-2+10=8,4-1-1=2;-28');
    assert.equal(answer('7*8='), '56', '* stays a plain answer');
  });

  it('arithmetic: every A±B with the exact integer answer; split and batches are deterministic per seed', async () => {
    const all = allProblems({ ops: ['+', '-'], maxOperand: 99, heldoutFraction: 0.1 });
    assert.equal(all.length, 20000);
    assert.ok(all.some((e) => e.prompt === '3-17=' && e.answer === '-14'));
    const a = arithmeticDataset({ ops: ['+', '-'], maxOperand: 99, heldoutFraction: 0.1 }, new Rng(1));
    const b = arithmeticDataset({ ops: ['+', '-'], maxOperand: 99, heldoutFraction: 0.1 }, new Rng(1));
    const c = arithmeticDataset({ ops: ['+', '-'], maxOperand: 99, heldoutFraction: 0.1 }, new Rng(2));
    assert.deepEqual(await a.trainBatch(7, 4), await b.trainBatch(7, 4));
    assert.notDeepEqual(await a.trainBatch(7, 4), await c.trainBatch(7, 4));
    const held = new Set((await a.heldout()).map((e) => e.prompt));
    assert.equal(held.size, 2000);
    for (let s = 0; s < 30; s++)
      for (const e of await a.trainBatch(s, 64)) assert.ok(!held.has(e.prompt), 'a held-out problem was trained on');
    assert.ok(
      allProblems({ ops: ['*'], maxOperand: 9, heldoutFraction: 0.1 }).some(
        (e) => e.prompt === '7*8=' && e.answer === '56',
      ),
    );
  });

  it('batches: right padding, labels only on the answer and end token', async () => {
    const tok = await loadTokenizerFromJson(charTokenizerJson('0123456789+-*= '), charTokenizerConfig());
    const codec = { tokenizer: tok, eosId: 1, padId: 0 };
    const b = encodeBatch(
      [
        { prompt: '1+2=', answer: '3' },
        { prompt: '10+20=', answer: '30' },
      ],
      codec,
    );
    assert.deepEqual(b.ids[0].length, b.ids[1].length);
    // "1+2=3<eos>" → inputs "1+2=3", labels: predict "3" after "=", then <eos>
    assert.deepEqual(
      b.labels[0].filter((l) => l >= 0),
      [tok.encode('3')[0], 1],
    );
    assert.deepEqual(b.attention[0], [1, 1, 1, 1, 1, 0, 0, 0]);
  });

  it('jsonl: prompt/answer and text records, seeded split, file:line errors', async () => {
    const dir = writeFiles({
      'ok.jsonl':
        '{"prompt": "a", "answer": "b"}\n\n{"text": "hello"}\n{"prompt": "c", "answer": 4}\n{"prompt": "d", "answer": "e"}\n',
      'bad.jsonl': '{"prompt": "a", "answer": "b"}\n{"prompt": "a"\n',
      'shape.jsonl': '{"prompt": "a", "answer": "b"}\n{"q": 1}\n',
    });
    const d = jsonlDataset({ ...P, path: join(dir, 'ok.jsonl') }, new Rng(0));
    assert.equal(d.trainSize, 3);
    const all = [...(await d.heldout()), ...(await d.calibration(10))];
    assert.deepEqual(all.map((e) => e.answer).sort(), ['4', 'b', 'e', 'hello']);
    assert.deepEqual(
      await d.trainBatch(5, 2),
      await jsonlDataset({ ...P, path: join(dir, 'ok.jsonl') }, new Rng(0)).trainBatch(5, 2),
    );
    assert.throws(
      () => jsonlDataset({ ...P, path: join(dir, 'bad.jsonl') }, new Rng(0)),
      (e: unknown) => e instanceof UserError && /bad\.jsonl:2: not valid JSON/.test(e.message),
    );
    assert.throws(
      () => jsonlDataset({ ...P, path: join(dir, 'shape.jsonl') }, new Rng(0)),
      /shape\.jsonl:2: a record needs "prompt" and "answer" strings, a "text" string, or a "messages" list \(got keys: q\)/,
    );
    assert.throws(
      () => jsonlDataset({ ...P, path: join(dir, 'none.jsonl') }, new Rng(0)),
      /none\.jsonl: data file not found/,
    );
  });
});
