import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@e3/core';
import { arithmeticDataset, encodeBatch, MaskEvaluator, textCodec, type ModelHandle } from '@e3/plugins';
import { useBackend } from '../helpers/tf.js';
import { tinyModel } from '../helpers/tiny-model.js';

/** log Σ exp of a row, in float64. */
function lse(row: readonly number[]): number {
  const m = Math.max(...row);
  return m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
}

/**
 * The calibration KL every masker ranks masks by, computed apart from the evaluator: each batch's
 * logits from the model's forward (held to PyTorch by parity.test.ts), then in float64 the
 * full-vocabulary KL(p_full ‖ p_masked) and −log p_masked(label) of every labelled token, summed over
 * all batches and divided by the number of labelled tokens (a token mean, not a mean of batch means).
 */
function reference(h: ModelHandle, batches: ReturnType<typeof encodeBatch>[], mask: number[]) {
  let kl = 0;
  let nll = 0;
  let count = 0;
  for (const b of batches) {
    const [full, masked] = tf.tidy(() => {
      const ids = tf.tensor2d(b.ids, undefined, 'int32');
      const attentionMask = tf.tensor2d(b.attention);
      return [h.model.forward(ids, { attentionMask }), h.model.forward(ids, { attentionMask, mask })].map(
        (r) => r.logits.arraySync() as number[][][],
      );
    });
    b.labels.forEach((row, i) =>
      row.forEach((label, t) => {
        if (label < 0) return;
        const [zp, zq] = [full[i][t], masked[i][t]];
        const [lp, lq] = [lse(zp), lse(zq)];
        kl += zp.reduce((s, z, v) => s + Math.exp(z - lp) * (z - lp - (zq[v] - lq)), 0);
        nll -= zq[label] - lq;
        count++;
      }),
    );
  }
  return { kl: kl / count, nll: nll / count, count };
}

describe('calibration KL and NLL of a mask against float64, over batches of unequal size', function () {
  this.timeout(120000);
  let h: ModelHandle;
  before(async () => {
    await useBackend('cpu');
    h = await tinyModel({ layers: 6, std: 0.5 });
  });
  after(() => h.dispose());

  it('the mean over labelled tokens, whatever the batch size', async () => {
    const data = arithmeticDataset({ ops: ['+'], maxOperand: 9, heldoutFraction: 0.2 }, new Rng(4));
    const examples = await data.calibration(7);
    const codec = textCodec(h, 'test');
    // Batches of 3, 3 and 1 examples: unequal numbers of labelled tokens, so a mean of the batches' means
    // is not the mean over tokens.
    const batches = [examples.slice(0, 3), examples.slice(3, 6), examples.slice(6)].map((e) => encodeBatch(e, codec));
    const counts = batches.map((b) => b.labels.flat().filter((l) => l >= 0).length);
    assert.ok(new Set(counts).size > 1, `labelled tokens per batch: ${counts}`);
    const evaluator = new MaskEvaluator(h, examples, 3);
    try {
      for (const mask of [
        [1, 0, 1, 1, 0, 1],
        [0, 1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1, 1],
      ]) {
        const want = reference(h, batches, mask);
        const [kl, nll] = [await evaluator.kl(mask), await evaluator.nll(mask)];
        assert.ok(Math.abs(kl - want.kl) < 1e-5 * Math.max(1, want.kl), `mask ${mask}: KL ${kl}, float64 ${want.kl}`);
        assert.ok(Math.abs(nll - want.nll) < 1e-5 * want.nll, `mask ${mask}: NLL ${nll}, float64 ${want.nll}`);
        if (mask.every(Boolean)) assert.ok(Math.abs(kl) < 1e-6, `the full model's KL to itself: ${kl}`);
        else assert.ok(want.kl > 0.01, `mask ${mask} changes the output (KL ${want.kl})`);
      }
    } finally {
      evaluator.dispose();
    }
  });
});
