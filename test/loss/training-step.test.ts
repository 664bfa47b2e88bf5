import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@e3/core';
import {
  arithmeticDataset,
  cloneHandle,
  CrossEntropyLoss,
  ForwardKlLoss,
  HiddenMseLoss,
  stepGradients,
  TeacherCache,
  TeacherEntropyWeighting,
  textCodec,
  trainingStep,
  type Example,
  type TrainingStepSpec,
} from '@e3/plugins';
import { tempDir } from '../helpers/files.js';
import { useBackend } from '../helpers/tf.js';
import { tinyModel } from '../helpers/tiny-model.js';

/**
 * Eight examples whose answers (and so labelled tokens: the answer and the end token) differ in
 * length, so that micro-batches of 2 hold 4, 6, 7 and 14 of the batch's 31 labelled tokens: a
 * share by example count (1/4 each) would be wrong.
 */
const EXAMPLES: Example[] = [
  { prompt: '1+2=', answer: '3' },
  { prompt: '4+4=', answer: '8' },
  { prompt: '9+9=', answer: '18' },
  { prompt: '5-7=', answer: '-2' },
  { prompt: '3+3=', answer: '6666' },
  { prompt: '2+2=', answer: '1' },
  { prompt: '7-9=', answer: '-22' },
  { prompt: '8+8=', answer: '163456789' },
];
/** Labelled tokens of each example: its answer's characters and the end token. */
const LABELLED = EXAMPLES.map((e) => e.answer.length + 1);

interface Result {
  loss: number;
  grads: Float32Array[];
  terms: Record<string, number>;
  micro: number;
}

/** One step's loss, terms and gradients (every weight, and a layer mask) in micro-batches of `microBatch`. */
async function step(
  spec: Omit<TrainingStepSpec, 'microBatch' | 'node' | 'codec'>,
  examples: readonly Example[],
  microBatch: number | undefined,
  vars: tf.Variable[],
  mask: tf.Variable,
): Promise<Result> {
  const lossOf = trainingStep({ ...spec, node: 'test', codec: textCodec(spec.model, 'test'), microBatch });
  const batch = await lossOf(examples, { mask: () => tf.mul(mask, 1) as tf.Tensor1D });
  try {
    const { loss, grads } = await stepGradients(batch, vars);
    const values = await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array));
    grads.forEach((g) => g.dispose());
    const terms: Record<string, number> = {};
    for (const [k, t] of Object.entries(batch.terms())) terms[k] = (await t.data())[0];
    return { loss, grads: values, terms, micro: batch.micro };
  } finally {
    batch.dispose();
  }
}

/** |a − b| ≤ tol·max|a| for every element of every gradient. */
function assertClose(a: Float32Array[], b: Float32Array[], tol: number, what: string) {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => {
    const scale = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const diff = x.reduce((m, v, j) => Math.max(m, Math.abs(v - b[i][j])), 0);
    assert.ok(scale > 0, `${what}: gradient ${i} is zero`);
    assert.ok(diff <= tol * scale, `${what}: gradient ${i} differs by ${diff} (max ${scale})`);
  });
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('training step: micro-batches with gradient accumulation', function () {
  this.timeout(120_000);

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`a batch of 8 and 4 × 2: the same loss and gradients, parts weighted by their tokens (${backend})`, async () => {
      await useBackend(backend);
      const h = await tinyModel({ layers: 3, seed: 5 });
      const mask = tf.variable(tf.tensor1d([0.9, 1.1, 1]));
      const vars = [...h.model.variables(), mask];
      const spec = {
        model: h,
        loss: [new CrossEntropyLoss({ weight: 1, labelSmoothing: 0.1 })],
        promptLoss: false,
        trainHead: true,
        headChunkTokens: 0,
      };
      const whole = await step(spec, EXAMPLES, undefined, vars, mask);
      const parts = await step(spec, EXAMPLES, 2, vars, mask);
      const single = await step(spec, EXAMPLES, 1, vars, mask);
      assert.deepEqual([whole.micro, parts.micro, single.micro], [1, 4, 8]);
      assert.ok(relative(parts.loss, whole.loss) < 1e-5, `${parts.loss} vs ${whole.loss}`);
      assert.ok(relative(parts.terms.crossEntropy, whole.terms.crossEntropy) < 1e-5);
      assertClose(whole.grads, parts.grads, 1e-5, '4 × 2');
      assertClose(whole.grads, single.grads, 1e-5, '8 × 1');

      // The value itself: the mean over the batch's 31 labelled tokens, from each example's own mean.
      const alone = await Promise.all(EXAMPLES.map((e) => step(spec, [e], undefined, vars, mask)));
      const n = LABELLED.reduce((a, b) => a + b);
      assert.equal(n, 31);
      const byTokens = alone.reduce((a, r, i) => a + r.loss * LABELLED[i], 0) / n;
      assert.ok(relative(whole.loss, byTokens) < 1e-5, `${whole.loss} vs ${byTokens}`);
      // Weighting the micro-batches by their examples instead would be off by 30 times the tolerance.
      const pairs = [0, 2, 4, 6].map(
        (i) => (alone[i].loss * LABELLED[i] + alone[i + 1].loss * LABELLED[i + 1]) / (LABELLED[i] + LABELLED[i + 1]),
      );
      const byExamples = pairs.reduce((a, b) => a + b) / 4;
      assert.ok(relative(byExamples, whole.loss) > 3e-4, `${byExamples} vs ${whole.loss}`);
      // And the number (this seed's tiny model, label smoothing 0.1).
      assert.ok(Math.abs(whole.loss - 4.15015) < 1e-4, `${whole.loss}`);
      mask.dispose();
      h.dispose();
    });
  }

  it('a distillation step (teacher targets, entropy weights, hidden states) sums the same way', async () => {
    await useBackend('wasm');
    const teacher = await tinyModel({ layers: 3, seed: 7 });
    const student = cloneHandle(teacher);
    const data = arithmeticDataset({ ops: ['+'], maxOperand: 9, heldoutFraction: 0.2 }, new Rng(1));
    const cache = await TeacherCache.open(teacher, data.fingerprint, 3, join(tempDir(), 'cache'), { batchSize: 16 });
    const mask = tf.variable(tf.tensor1d([1, 0.5, 1]));
    const vars = [...student.model.variables(), mask];
    const spec = {
      model: student,
      cache,
      teacher,
      weighting: new TeacherEntropyWeighting({ beta: 1 }),
      loss: [
        new ForwardKlLoss({ weight: 1 }),
        new CrossEntropyLoss({ weight: 0.5, labelSmoothing: 0 }),
        new HiddenMseLoss({ weight: 2 }),
      ],
      promptLoss: false,
      trainHead: true,
      headChunkTokens: 0,
    };
    const whole = await step(spec, EXAMPLES, 8, vars, mask);
    const parts = await step(spec, EXAMPLES, 2, vars, mask);
    const uneven = await step(spec, EXAMPLES, 3, vars, mask);
    assert.deepEqual([whole.micro, parts.micro, uneven.micro], [1, 4, 3]);
    for (const r of [parts, uneven]) {
      assert.ok(relative(r.loss, whole.loss) < 1e-5, `${r.loss} vs ${whole.loss}`);
      for (const k of ['forwardKl', 'crossEntropy', 'hiddenMse'])
        assert.ok(relative(r.terms[k], whole.terms[k]) < 1e-5, `${k}: ${r.terms[k]} vs ${whole.terms[k]}`);
      assertClose(whole.grads, r.grads, 1e-5, `${r.micro} micro-batches`);
    }
    assert.ok(whole.terms.hiddenMse > 0 && whole.terms.forwardKl > 0);
    mask.dispose();
    cache.dispose();
    student.dispose();
    teacher.dispose();
  });
});
