import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { Rng } from '@e3/core';
import { arithmeticDataset, disposeTargets, encodeBatch, TeacherCache } from '@e3/plugins';
import { tempDir } from '../helpers/files.js';
import { useBackend } from '../helpers/tf.js';
import { tinyModel } from '../helpers/tiny-model.js';

describe('teacher cache', function () {
  this.timeout(60000);
  it('is reused across runs and shared safely: each process appends to its own file', async () => {
    await useBackend('wasm');
    const h = await tinyModel({ layers: 2 });
    const dir = join(tempDir(), 'cache');
    const data = arithmeticDataset({ ops: ['+'], maxOperand: 9, heldoutFraction: 0.2 }, new Rng(0));
    const ex = await data.calibration(20);
    const a = await TeacherCache.open(h, data.fingerprint, 3, dir, { batchSize: 8 });
    const b = await TeacherCache.open(h, data.fingerprint, 3, dir, { batchSize: 8 });
    await a.ensure(ex.slice(0, 10));
    await b.ensure(ex.slice(5, 20));
    assert.equal(a.computed, 10);
    assert.equal(b.computed, 15, 'b opened before a wrote, so it computes its own');
    const c = await TeacherCache.open(h, data.fingerprint, 3, dir, { batchSize: 8 });
    assert.equal(c.cachedExamples, 20);
    await c.ensure(ex);
    assert.equal(c.computed, 0);
    assert.equal(c.reused, 20);
    const enc = encodeBatch(ex.slice(0, 4), a.codec, true);
    const [ta, tc] = [await a.targets(ex.slice(0, 4), enc), await c.targets(ex.slice(0, 4), enc)];
    assert.deepEqual(Array.from(await ta.logProbs.data()), Array.from(await tc.logProbs.data()));
    disposeTargets(ta);
    disposeTargets(tc);
    a.dispose();
    b.dispose();
    c.dispose();
    h.dispose();
  });
});
