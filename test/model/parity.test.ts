import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint, generateIds } from '@e3/plugins';
import { ROOT } from '../helpers/files.js';
import { maxAbsDiff, useBackend } from '../helpers/tf.js';

const FIXTURES = ['tiny-llama', 'tiny-qwen2', 'tiny-qwen3'];

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`decoder parity with the PyTorch reference (${backend})`, () => {
    before(() => useBackend(backend));
    for (const name of FIXTURES) {
      const dir = join(ROOT, 'test/fixtures', name);
      const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));

      it(`${name}: full, masked (numbers and tensor) logits match to 1e-4`, async () => {
        const h = await loadCheckpoint(dir);
        const before = tf.memory().numTensors;
        tf.tidy(() => {
          const ids = tf.tensor2d(ref.ids, undefined, 'int32');
          assert.ok(maxAbsDiff(h.model.forward(ids).logits, ref.logits) < 1e-4);
          assert.ok(maxAbsDiff(h.model.forward(ids, { mask: ref.mask }).logits, ref.maskedLogits) < 1e-4);
          assert.ok(maxAbsDiff(h.model.forward(ids, { mask: tf.tensor1d(ref.mask) }).logits, ref.maskedLogits) < 1e-4);
          // masking really changes the output (the test could fail)
          assert.ok(maxAbsDiff(h.model.forward(ids).logits, ref.maskedLogits) > 1e-3);
        });
        assert.equal(tf.memory().numTensors, before, 'forward leaked tensors');
        h.dispose();
      });

      it(`${name}: greedy generation with the KV cache gives the reference tokens, also left-padded in a batch`, async () => {
        const h = await loadCheckpoint(dir);
        const other = [9, 9, 9, 9, 9, 9, 1];
        await generateIds(h, [other], { maxNewTokens: 1, stopIds: [-1] }); // builds the kept rotary tables
        const before = tf.memory().numTensors;
        const [a, b] = await generateIds(h, [ref.greedyPrompt, other], {
          maxNewTokens: ref.greedy.length,
          stopIds: [-1],
        });
        assert.equal(tf.memory().numTensors, before, 'generation leaked tensors');
        assert.deepEqual(a, ref.greedy);
        const [alone] = await generateIds(h, [other], { maxNewTokens: ref.greedy.length, stopIds: [-1] });
        assert.deepEqual(b, alone);
        h.dispose();
      });
    }
  });
}

describe('e3 generate', function () {
  this.timeout(60000);
  it('answers one line per prompt line, in order, empty prompts with empty lines', async () => {
    const { e3, writeFiles } = await import('../helpers/files.js');
    const dir = writeFiles({ 'p.txt': '12+34=\n\n99-7=\n' });
    const r = e3(['generate', 'models/arith-teacher', '--prompts', join(dir, 'p.txt'), '--max-new-tokens', '5']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n'), ['46', '', '92', '']);
    const one = e3(['generate', 'models/arith-teacher', '--prompt', '7-9=']);
    assert.equal(one.stdout, '-2\n');
    assert.match(e3(['generate', 'models/arith-teacher']).stderr, /exactly one of --prompt TEXT or --prompts FILE/);
  });
});
