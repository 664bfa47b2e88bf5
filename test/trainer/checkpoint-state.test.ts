import { strict as assert } from 'node:assert';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { latestStateDir, loadState, saveState } from '@e3/plugins';
import { tempDir } from '../helpers/files.js';
import { useBackend } from '../helpers/tf.js';

describe('training checkpoints on disk', () => {
  before(() => useBackend('cpu'));

  it('keeps a complete checkpoint at every instant: the new one is renamed in before the old one goes', async () => {
    const dir = join(tempDir(), 'ckpt');
    const w = tf.tensor1d([1, 2, 3]);
    await saveState(dir, 2, new Map([['w', w]]), { note: 'two' });
    // A process killed while it filled step 4: its partial directory must never be read.
    mkdirSync(join(dir, 'step-000000004.partial-999999'));
    writeFileSync(join(dir, 'step-000000004.partial-999999', 'state.json'), '{"step": 4}');
    const s = loadState(dir)!;
    assert.equal(s.step, 2);
    assert.deepEqual(Array.from(await s.tensors.get('w')!.data()), [1, 2, 3]);
    s.tensors.forEach((t) => t.dispose());
    await saveState(dir, 6, new Map([['w', w]]), { note: 'six' });
    assert.deepEqual(readdirSync(dir), ['step-000000006'], 'older states and dead partials are removed');
    assert.equal(latestStateDir(dir), join(dir, 'step-000000006'));
    assert.equal(loadState(dir)!.json.note, 'six');
    w.dispose();
  });
});
