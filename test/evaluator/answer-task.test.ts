import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '@e3/core';
import { answerTaskSetup, arithmeticDataset } from '@e3/plugins';
import { runNode } from '../helpers/run-node.js';
import { useBackend } from '../helpers/tf.js';
import { tinyModel } from '../helpers/tiny-model.js';

describe('evaluator.suite: the generated-answer task’s setup in report.json', function () {
  this.timeout(120_000);
  before(() => useBackend('wasm'));

  it('counts only the examples that have a prompt to answer', () => {
    const s = answerTaskSetup(
      [
        { prompt: '', answer: 'plain text' },
        { prompt: '12+7=', answer: '19' },
        { prompt: '3-5=', answer: '-2' },
      ],
      { maxNewTokens: 6, stopTokenId: 1, data: 'fp', seed: 3 },
    );
    assert.equal(s.examples, 2);
    assert.equal(s.heldoutExamples, 3);
    assert.equal(s.promptExample, '12+7=');
    assert.equal(
      answerTaskSetup([{ prompt: '', answer: 'x' }], { maxNewTokens: 1, stopTokenId: 1, data: 'fp', seed: 0 })
        .promptExample,
      undefined,
    );
  });

  it('records prompt format, greedy decoding, budget, examples, data and seed beside the exact match', async () => {
    const model = await tinyModel({ layers: 2 });
    const data = arithmeticDataset({ ops: ['+', '-'], maxOperand: 9, heldoutFraction: 0.2 }, new Rng(1));
    const r = await runNode(
      'evaluator.suite',
      { examples: 20, maxNewTokens: 4, speed: { enabled: false } },
      { model, data },
      { id: 'eval', seed: 7 },
    );
    const report = JSON.parse(readFileSync(join(r.runDir, 'report.json'), 'utf8'));
    assert.deepEqual(report.answerTask, {
      task: 'exact match of greedy answers',
      promptFormat: "the example's prompt verbatim, tokenized alone (no template, no few-shot examples)",
      promptExample: (await data.heldout(1))[0].prompt,
      answerExtraction:
        'the completion up to the stop token or the first newline, trimmed; it must equal the reference answer exactly',
      decoding: 'greedy',
      maxNewTokens: 4,
      stopTokenId: 1,
      examples: 20,
      heldoutExamples: 20,
      data: data.fingerprint,
      seed: 7,
    });
    assert.equal(typeof report.model.accuracy, 'number');
    model.dispose();
  });
});
