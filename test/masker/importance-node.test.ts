import { strict as assert } from 'node:assert';
import { Rng } from '@e3/core';
import { arithmeticDataset, type LayerMaskResult, type ModelHandle } from '@e3/plugins';
import { runNode } from '../helpers/run-node.js';
import { useBackend } from '../helpers/tf.js';
import { tinyModel } from '../helpers/tiny-model.js';

describe('masker.importance (node alone)', function () {
  this.timeout(60000);
  let model: ModelHandle;
  const data = arithmeticDataset({ ops: ['+'], maxOperand: 9, heldoutFraction: 0.2 }, new Rng(1));
  before(async () => {
    await useBackend('wasm');
    model = await tinyModel({ identity: [1, 2], std: 0.6 });
  });
  after(() => model.dispose());

  const run = async (
    score: string,
    params: Record<string, unknown> = {},
    scoreParams: Record<string, unknown> = {},
  ) => {
    const r = await runNode(
      'masker.importance',
      { pruneLayers: 2, calibration: 16, batchSize: 8, score: { component: score, ...scoreParams }, ...params },
      { model, data },
    );
    return { mask: r.outputs.mask as LayerMaskResult, log: r.log };
  };

  it('keeps the K layers its score component ranks highest, and reports the calibration KL of that mask', async () => {
    const kl = await run('importance.klDrop');
    assert.deepEqual(kl.mask.mask, [1, 0, 0, 1], 'removing the two identity blocks');
    assert.equal(kl.mask.method, 'klDrop');
    assert.deepEqual(kl.mask.details!.removed, [1, 2]);
    assert.equal(kl.mask.details!.calibrationKl, 0, 'identity blocks cost nothing');
    assert.equal(kl.mask.scores!.length, 4);
    assert.ok((kl.mask.details!.forwardPasses as number) > 0);
    assert.match(kl.log.join('\n'), /klDrop: removes layers 1,2 \(calibration KL 0\.0000\)/);
    const last = await run('importance.lastN', {}, { keepFinalLayer: false });
    assert.deepEqual(last.mask.mask, [1, 1, 0, 0]);
    assert.ok((last.mask.details!.calibrationKl as number) > 1e-3, 'removing real blocks costs something');
  });

  it('importance.lastN follows Gromov et al.: the deepest blocks but the final one, unless keepFinalLayer: false', async () => {
    // L = 4, n = 2: the heuristic removes layers L−1−n .. L−2 = 1, 2; without it, the last two.
    assert.deepEqual((await run('importance.lastN')).mask.mask, [1, 0, 0, 1]);
    assert.deepEqual((await run('importance.lastN', {}, { keepFinalLayer: false })).mask.mask, [1, 1, 0, 0]);
    assert.deepEqual((await run('importance.lastN', { pruneLayers: 3 })).mask.mask, [0, 0, 0, 1]);
  });

  it('takes pruneRatio when no layer count is given', async () => {
    assert.deepEqual(
      (await run('importance.lastN', { pruneLayers: undefined, pruneRatio: 0.25 })).mask.mask,
      [1, 1, 0, 1],
    );
  });
});
