import { strict as assert } from 'node:assert';
import { UserError } from '@e3/core';
import type { LayerMaskResult } from '@e3/plugins';
import { runNode } from '../helpers/run-node.js';

/** All masker.fixed reads of its model: the number of layers and their original numbers (a pruned model's). */
const model = { model: { numLayers: 4, source: { keptLayers: [0, 2, 3, 5] } } };
const mask = async (params: Record<string, unknown>) =>
  (await runNode('masker.fixed', params, { model })).outputs.mask as LayerMaskResult;

describe('masker.fixed (node alone, fake model)', () => {
  it('drops the listed layers, or keeps only the listed ones; removed layers in original numbers', async () => {
    assert.deepEqual(await mask({ drop: [1, 3] }), {
      mask: [1, 0, 1, 0],
      layers: [0, 2, 3, 5],
      method: 'fixed',
      details: { removed: [2, 5] },
    });
    assert.deepEqual((await mask({ keep: [0, 3] })).mask, [1, 0, 0, 1]);
    assert.deepEqual((await mask({ drop: [] })).mask, [1, 1, 1, 1]);
  });

  it('refuses both or neither list, missing layers and a mask without layers', async () => {
    const refused = (params: Record<string, unknown>, message: RegExp) =>
      assert.rejects(mask(params), (e: unknown) => e instanceof UserError && message.test(e.message));
    await refused({}, /give exactly one of params\.drop or params\.keep/);
    await refused({ drop: [0], keep: [1] }, /give exactly one of params\.drop or params\.keep/);
    await refused({ drop: [2, 4, 7] }, /layer\(s\) 4, 7 do not exist \(layers 0\.\.3\)/);
    await refused({ drop: [0, 1, 2, 3] }, /removes every layer/);
  });
});
