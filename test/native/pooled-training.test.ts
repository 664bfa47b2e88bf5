import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { bufferPoolStats, loadAddon } from '@e3/native';
import { forwardTokens, tokensFromLogits, type ModelHandle } from '@e3/plugins';
import { maxAbsDiff, useBackend } from '../helpers/tf.js';
import { tinyModel } from '../helpers/tiny-model.js';
import { NO_ADDON, skipBecause } from '../helpers/skip.js';

/**
 * Loss and gradients of every weight (the tied embedding included) and a layer mask, as plain
 * arrays; `wholeLogits`: through whole logits and plain ops (no chunked head, no in-place sum).
 */
function step(h: ModelHandle, wholeLogits = false): { loss: number; grads: Float32Array[] } {
  const ids = tf.tensor2d(
    Array.from({ length: 4 }, (_, b) => Array.from({ length: 20 }, (_, t) => ((t * 5 + b * 7) % 16) + 2)),
    undefined,
    'int32',
  );
  const mask = tf.variable(tf.tensor1d(Array.from({ length: h.model.numLayers }, (_, l) => 0.7 + 0.05 * l)));
  const vars = [...h.model.variables(), mask];
  const r = tf.variableGrads(() => {
    const [b, t] = ids.shape;
    const student = wholeLogits
      ? tokensFromLogits(
          tf.reshape(h.model.head(h.model.forwardFinal(ids, { mask }).final), [b, t, -1]) as tf.Tensor3D,
          ids,
        )
      : forwardTokens(h.model, ids, { labels: ids, trainHead: true, mask }).student;
    return tf.neg(tf.mean(student.logQLabel)) as tf.Scalar;
  }, vars);
  const out = { loss: r.value.dataSync()[0], grads: vars.map((v) => Float32Array.from(r.grads[v.name].dataSync())) };
  tf.dispose([ids, mask, r.value, ...Object.values(r.grads)]);
  return out;
}

describe('training on reused buffers: the same numbers as fresh memory', function () {
  this.timeout(120_000);

  it('cpu with native kernels: steps on reused outputs equal the first step and the plain cpu backend', async function () {
    if (!loadAddon()) skipBecause(this, NO_ADDON);
    await useBackend('cpu', { native: false });
    const h = await tinyModel({ layers: 4, seed: 9 });
    const reference = step(h, true);
    h.dispose();
    await useBackend('cpu', { native: true });
    const n = await tinyModel({ layers: 4, seed: 9 });
    const first = step(n);
    const hits = bufferPoolStats(tf.backend())!.hits;
    const second = step(n);
    assert.ok(bufferPoolStats(tf.backend())!.hits > hits, 'the second step reused buffers');
    assert.equal(second.loss, first.loss);
    second.grads.forEach((g, i) => assert.deepEqual(g, first.grads[i], `gradient ${i}: reuse changed it`));
    assert.ok(Math.abs(first.loss - reference.loss) < 1e-5);
    first.grads.forEach((g, i) => {
      const scale = Math.max(...reference.grads[i].map(Math.abs));
      const err = maxAbsDiff(Array.from(g), Array.from(reference.grads[i])) / scale;
      assert.ok(err < 1e-4, `gradient ${i}: relative difference ${err}`);
    });
    n.dispose();
  });
});
