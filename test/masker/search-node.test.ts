import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { Rng } from '@e3/core';
import {
  arithmeticDataset,
  standardise,
  TeacherCache,
  type LayerMaskResult,
  type ModelHandle,
  type SearchMetrics,
} from '@e3/plugins';
import { tempDir } from '../helpers/files.js';
import { runNode } from '../helpers/run-node.js';
import { useBackend } from '../helpers/tf.js';
import { tinyModel } from '../helpers/tiny-model.js';

describe('masker.search (node alone): initScale, window, candidates', function () {
  this.timeout(120000);
  let model: ModelHandle;
  let cache: TeacherCache;
  const data = arithmeticDataset({ ops: ['+'], maxOperand: 9, heldoutFraction: 0.2 }, new Rng(1));
  before(async () => {
    await useBackend('wasm');
    model = await tinyModel({ layers: 6, std: 0.5 });
    cache = await TeacherCache.open(model, data.fingerprint, 3, join(tempDir(), 'cache'), { batchSize: 16 });
  });
  after(() => {
    cache.dispose();
    model.dispose();
  });

  const search = async (params: Record<string, unknown>) => {
    const r = await runNode(
      'masker.search',
      {
        pruneLayers: 2,
        calibration: 16,
        batchSize: 8,
        searchBatchSize: 8,
        steps: 10,
        restarts: 1,
        refineRounds: 0,
        checkpointEvery: 0,
        init: { component: 'importance.lastN', keepFinalLayer: false },
        curriculum: { enabled: false, warmupFraction: 0 },
        ...params,
      },
      { model, data, targets: cache },
    );
    const metrics = r.outputs.metrics as SearchMetrics;
    return { mask: r.outputs.mask as LayerMaskResult, restart: metrics.restarts[0] };
  };
  /** Noisy samples, so that the hard masks vary from step to step. */
  const noisy = { sampler: { component: 'sampler.gumbelTopk', noise: { from: 3, to: 3 } } };

  it('initScale: α starts at initScale × the z-scores of the init importance', async () => {
    const z = standardise([6, 5, 4, 3, 2, 1]);
    for (const initScale of [0, 2]) {
      const { mask, restart } = await search({ initScale, lr: 1e-9, steps: 2 });
      assert.deepEqual(mask.details!.initScores, [6, 5, 4, 3, 2, 1]);
      restart.alpha.forEach((a, i) =>
        assert.ok(Math.abs(a - initScale * z[i]) < 1e-4, `α${i} ${a} vs ${initScale * z[i]}`),
      );
    }
  });

  it('window: keep probabilities count only the hard masks of the last window fraction of steps', async () => {
    // steps 10: window 0.2 keeps 2 masks (probabilities in halves), 1 keeps all 10 (in tenths).
    const kp = async (window: number) => (await search({ ...noisy, window })).restart.keepProbability;
    const inUnits = (values: number[], n: number) => values.every((v) => Math.abs(v * n - Math.round(v * n)) < 1e-9);
    const last2 = await kp(0.2);
    const all10 = await kp(1);
    assert.ok(inUnits(last2, 2), `${last2}`);
    assert.ok(!inUnits(all10, 2) && inUnits(all10, 10), `${all10}: the full window must not look like two masks`);
    for (const p of [last2, all10]) assert.ok(Math.abs(p.reduce((a, b) => a + b) - 4) < 1e-9, 'each mask keeps K = 4');
  });

  it('candidates: at most that many frequent late masks join TopK(α) and TopK(keep probability), each scored', async () => {
    const sources = async (candidates: number) =>
      (await search({ ...noisy, window: 1, candidates })).restart.candidates;
    const none = await sources(0);
    assert.ok(
      none.every((c) => !c.source.startsWith('frequent')),
      JSON.stringify(none),
    );
    const three = await sources(3);
    const frequent = three.filter((c) => c.source.startsWith('frequent'));
    assert.ok(frequent.length >= 1 && frequent.length <= 3, JSON.stringify(three));
    assert.equal(new Set(three.map((c) => c.mask.join(''))).size, three.length, 'candidates are distinct masks');
    for (const c of three) assert.ok(Number.isFinite(c.kl) && c.kl >= 0 && c.mask.reduce((a, b) => a + b) === 4);
  });
});
