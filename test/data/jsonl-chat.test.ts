import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { UserError } from '@e3/core';
import { encodeBatch, type TextTokenizer } from '@e3/plugins';
import { tempDir, writeFiles } from '../helpers/files.js';
import { jsonlNode, runGraph, teacherGraph } from '../helpers/graphs.js';
import { jsonlFile, openQwen3Jsonl } from '../helpers/jsonl-data.js';
import { QWEN3_IDS, qwen3Tokenizer } from '../helpers/qwen3-tokenizer.js';

const HI = {
  messages: [
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello!' },
  ],
};

/** `tokenizer` null: the node names no checkpoint. */
const open = (path: string, tokenizer?: string | null) => openQwen3Jsonl(path, { tokenizer });
const dataFile = jsonlFile;

async function assertRejects(path: string, message: RegExp, tokenizer?: string | null): Promise<void> {
  await assert.rejects(open(path, tokenizer), (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.match(e.message, message);
    return true;
  });
}

describe('data.jsonl: {messages} chat records', function () {
  this.timeout(60000);
  let tok: TextTokenizer;
  before(async () => {
    tok = await qwen3Tokenizer();
  });

  it("renders with Qwen3's chat template: the prompt ends with the generation prompt, loss on the reply", async () => {
    const system = { role: 'system', content: 'Be brief.' };
    const d = await open(dataFile([HI, { messages: [system, ...HI.messages] }]));
    const [plain, withSystem] = await d.calibration(2);
    assert.equal(plain.prompt, '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
    assert.equal(
      plain.answer,
      '<think>\n\n</think>\n\nHello!',
      "the template's empty think block; <|im_end|> is the eos",
    );
    assert.equal(withSystem.prompt, '<|im_start|>system\nBe brief.<|im_end|>\n' + plain.prompt);
    const b = encodeBatch([plain], { tokenizer: tok, eosId: QWEN3_IDS.imEnd, padId: QWEN3_IDS.endOfText });
    const promptIds = tok.encode(plain.prompt);
    assert.deepEqual(promptIds.slice(0, 3), [QWEN3_IDS.imStart, ...tok.encode('user\n')], '<|im_start|> is one id');
    assert.equal(promptIds.filter((id) => id === QWEN3_IDS.imStart).length, 2);
    const labelled = b.labels[0].filter((l) => l >= 0);
    assert.deepEqual(labelled, [...tok.encode(plain.answer), QWEN3_IDS.imEnd], 'loss on the answer and <|im_end|>');
  });

  it('earlier assistant turns are prompt; the last assistant turn is the answer', async () => {
    const turns = [...HI.messages, { role: 'user', content: 'And?' }, { role: 'assistant', content: 'Bye.' }];
    const [e] = await (await open(dataFile([{ messages: turns }]))).calibration(1);
    assert.equal(
      e.prompt,
      '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n' +
        '<|im_start|>user\nAnd?<|im_end|>\n<|im_start|>assistant\n',
    );
    assert.equal(e.answer, '<think>\n\n</think>\n\nBye.');
  });

  it('bad records name file:line and the fix', async () => {
    const notList = dataFile([HI, { messages: 'Hi' }]);
    await assertRejects(notList, new RegExp(`^${notList}:2: "messages" is "Hi", not a list \\(fix: write "messages"`));
    const noRole = dataFile([{ messages: [{ content: 'Hi' }, HI.messages[1]] }]);
    await assertRejects(noRole, new RegExp(`^${noRole}:1: messages\\[0\\] needs a string "role" \\(got missing\\)`));
    const noContent = dataFile([HI, HI, { messages: [HI.messages[0], { role: 'assistant' }] }]);
    await assertRejects(noContent, new RegExp(`^${noContent}:3: messages\\[1\\] needs a string "content"`));
    const userLast = dataFile([{ messages: [HI.messages[0]] }]);
    await assertRejects(userLast, new RegExp(`^${userLast}:1: a conversation needs .* the last from "user"`));
    await assertRejects(
      dataFile([HI]),
      /d\.jsonl:1: a "messages" record .* names no checkpoint .*params\.tokenizer/,
      null,
    );
  });

  it('a checkpoint without a chat template: an error naming the record and tokenizer_config.json, through e3 run', () => {
    const ckpt = writeFiles({ 'tokenizer_config.json': JSON.stringify({ eos_token: '<eos>' }) });
    const path = dataFile(['{"prompt": "1+1=", "answer": "2"}', HI]);
    const graph = teacherGraph(jsonlNode(path, `tokenizer: "${ckpt}"`), join(tempDir(), 'cache'));
    const r = runGraph(graph);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `node "data" failed: ${path}:2: a \\{messages\\} record needs a chat template, but ` +
          `${ckpt}/tokenizer_config.json has no "chat_template" .*fix: set the data node's params.tokenizer`,
      ),
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
