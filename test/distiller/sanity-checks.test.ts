import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, UserError } from '@e3/core';
import {
  arithmeticDataset,
  checkDistillationInputs,
  cloneHandle,
  encodeBatch,
  TeacherCache,
  textCodec,
  vocabularyDifference,
  type ModelHandle,
} from '@e3/plugins';
import { tempDir } from '../helpers/files.js';
import { runNode } from '../helpers/run-node.js';
import { useBackend } from '../helpers/tf.js';
import { tinyModel } from '../helpers/tiny-model.js';

const data = () => arithmeticDataset({ ops: ['+', '-'], maxOperand: 9, heldoutFraction: 0.2 }, new Rng(1));
const open = (h: ModelHandle, fingerprint: string, k: number) =>
  TeacherCache.open(h, fingerprint, k, join(tempDir(), 'cache'), { batchSize: 32 });

/** A handle with only what the vocabulary check reads: vocab_size and a tokenizer decoding ids to `tokens`. */
const fakeVocab = (tokens: string[], vocabSize = tokens.length) =>
  ({
    model: { config: { vocabSize } },
    tokenizer: { size: tokens.length, decode: (ids: number[]) => ids.map((i) => tokens[i]).join('') },
  }) as unknown as ModelHandle;

describe('distiller: sanity checks before step 1', function () {
  this.timeout(120000);
  before(() => useBackend('wasm'));

  it('names the first token id two vocabularies decode differently', () => {
    assert.equal(vocabularyDifference(fakeVocab(['a', 'b', 'c']), fakeVocab(['a', 'b', 'c'])), undefined);
    assert.equal(
      vocabularyDifference(fakeVocab(['a', 'b', 'c']), fakeVocab(['a', 'x', 'c'])),
      'token id 1 is "b" against "x"',
    );
    assert.equal(vocabularyDifference(fakeVocab(['a'], 18), fakeVocab(['a'], 19)), 'vocab_size 18 against 19');
  });

  it('refuses a student whose vocabulary is not the teacher’s, before any step, naming node and ports', async () => {
    const teacher = await tinyModel({ layers: 2 });
    const ds = data();
    const cache = await open(teacher, ds.fingerprint, 4);
    const student = fakeVocab(['x'], 19);
    await assert.rejects(
      runNode('distiller.train', { steps: 1 }, { model: student, targets: cache, data: ds }, { id: 'distill' }),
      (e: Error) =>
        e instanceof UserError &&
        /node "distill": the student \(input "model"\) and the teacher of the cache \(input "targets"\).*vocab_size 19 against 18/.test(
          e.message,
        ),
    );
    cache.dispose();
    teacher.dispose();
  });

  it('refuses a cache built for other data, or a teacher input that is not the cache’s teacher', async () => {
    const teacher = await tinyModel({ layers: 2 });
    const ds = data();
    const student = cloneHandle(teacher, [0]);
    const other = await open(teacher, 'other-data', 4);
    await assert.rejects(checkDistillationInputs('distill', student, other, ds), (e: Error) =>
      /node "distill": the teacher cache \(input "targets"\) was built for other data/.test(e.message),
    );
    const cache = await open(teacher, ds.fingerprint, 4);
    await checkDistillationInputs('distill', student, cache, ds, teacher);
    // Another handle with the same weights is the same teacher; different weights are not.
    const copy = cloneHandle(teacher);
    await checkDistillationInputs('distill', student, cache, ds, copy);
    const stranger = await tinyModel({ layers: 2, seed: 8 });
    await assert.rejects(checkDistillationInputs('distill', student, cache, ds, stranger), (e: Error) =>
      /node "distill": input "teacher" is not the model that built the teacher cache/.test(e.message),
    );
    [other, cache].forEach((c) => c.dispose());
    [teacher, student, copy, stranger].forEach((h) => h.dispose());
  });

  it('measures the top-k coverage: 1 with k = V, the mean top probability with k = 1', async () => {
    const teacher = await tinyModel({ layers: 2, std: 0.6 });
    const ds = data();
    const examples = await ds.calibration(24);
    const batch = encodeBatch(examples, textCodec(teacher, 't'), false);
    // The mean over labelled positions of the teacher's largest probability, from its full logits.
    const direct = tf.tidy(() => {
      const logits = teacher.model.forward(tf.tensor2d(batch.ids, undefined, 'int32'), {
        attentionMask: tf.tensor2d(batch.attention),
      }).logits;
      const top = tf.max(tf.softmax(logits), -1);
      const labelled = tf.tensor2d(batch.labels.map((r) => r.map((l) => (l >= 0 ? 1 : 0))));
      return tf.div(tf.sum(tf.mul(top, labelled)), tf.sum(labelled)).dataSync()[0];
    });
    const labelled = batch.labels.flat().filter((l) => l >= 0).length;
    for (const [k, expected] of [
      [18, 1],
      [1, direct],
    ]) {
      const cache = await open(teacher, ds.fingerprint, k);
      const meter = cache.meterCoverage();
      const t = await cache.targets(examples, batch);
      meter.close();
      tf.dispose([t.ids, t.logProbs, t.entropy]);
      assert.equal(meter.tokens, labelled);
      assert.ok(
        Math.abs(meter.sum / meter.tokens - expected) < 1e-5,
        `k=${k}: ${meter.sum / meter.tokens} vs ${expected}`,
      );
      assert.ok(meter.min <= meter.sum / meter.tokens + 1e-9 && meter.min > 0);
      cache.dispose();
    }
    teacher.dispose();
  });

  it('a distillation run reports the coverage in its log and metrics (report.json training.teacherCache)', async () => {
    const teacher = await tinyModel({ layers: 2 });
    const ds = data();
    const cache = await open(teacher, ds.fingerprint, 4);
    const student = cloneHandle(teacher, [0]);
    const r = await runNode(
      'distiller.train',
      { steps: 2, batchSize: 8, warmupSteps: 0 },
      { model: student, targets: cache, data: ds },
      { id: 'distill' },
    );
    const cov = (r.outputs.metrics as { teacherCache: { topkCoverage: Record<string, number> } }).teacherCache
      .topkCoverage;
    assert.equal(cov.k, 4);
    assert.ok(cov.tokens > 0 && cov.mean > 0 && cov.mean <= 1 && cov.min <= cov.mean, JSON.stringify(cov));
    assert.ok(
      r.log.some((l) => /teacher top-4 covers \d+\.\d% .* over the \d+ distilled tokens/.test(l)),
      r.log.join('\n'),
    );
    (r.outputs.model as ModelHandle).dispose();
    cache.dispose();
    [teacher, student].forEach((h) => h.dispose());
  });
});
