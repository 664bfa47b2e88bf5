import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { LossInputs, LossTerm } from '@e3/plugins';
import { ROOT } from '../helpers/files.js';
import { useBackend } from '../helpers/tf.js';

describe('examples: the top-k renormalised KL loss term', function () {
  this.timeout(60000);
  before(() => useBackend('cpu'));

  it('is KL of the two distributions renormalised on the teacher top-k, worked by hand', async () => {
    const url = pathToFileURL(join(ROOT, 'examples/dist/topk-renorm-kl.js')).href;
    const { TopkRenormKl } = (await import(url)) as { TopkRenormKl: new (p: { weight: number }) => LossTerm };
    const term = new TopkRenormKl({ weight: 1 });
    // Teacher top-2 probabilities 0.3, 0.1 → 0.75, 0.25; the student's 0.2, 0.2 → 0.5, 0.5.
    // KL = 0.75·ln(0.75/0.5) + 0.25·ln(0.25/0.5) = 0.304099 − 0.173287 = 0.130812.
    // A second token where both agree up to scale (0.4, 0.2 and 0.2, 0.1): KL 0. Token weights 1, 1.
    const x = {
      targets: {
        logProbs: tf.log(
          tf.tensor3d([
            [
              [0.3, 0.1],
              [0.4, 0.2],
            ],
          ]),
        ),
      },
      student: {
        logQTop: tf.log(
          tf.tensor3d([
            [
              [0.2, 0.2],
              [0.2, 0.1],
            ],
          ]),
        ),
      },
      tokenWeights: tf.tensor2d([[1, 1]]),
    } as unknown as LossInputs;
    const value = (await term.compute(x).data())[0];
    assert.ok(Math.abs(value - 0.130812 / 2) < 1e-6, `${value}`);
  });
});
