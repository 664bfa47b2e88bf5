import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { Rng } from '@e3/core';
import {
  arithmeticDataset,
  MaskEvaluator,
  TeacherCache,
  type LayerMaskResult,
  type ModelHandle,
  type SearchMetrics,
} from '@e3/plugins';
import { tempDir } from '../helpers/files.js';
import { runNode } from '../helpers/run-node.js';
import { useBackend } from '../helpers/tf.js';
import { tinyModel } from '../helpers/tiny-model.js';

const CALIBRATION = 16;

describe('masker.search returns the candidate with the lowest calibration KL', function () {
  this.timeout(300000);
  let model: ModelHandle;
  let cache: TeacherCache;
  let evaluator: MaskEvaluator;
  const data = arithmeticDataset({ ops: ['+'], maxOperand: 9, heldoutFraction: 0.2 }, new Rng(1));
  before(async () => {
    await useBackend('wasm');
    model = await tinyModel({ layers: 8, std: 0.5 });
    cache = await TeacherCache.open(model, data.fingerprint, 3, join(tempDir(), 'cache'), { batchSize: 16 });
    // Scores masks apart from the search: the same calibration examples, a fresh evaluator.
    evaluator = new MaskEvaluator(model, await data.calibration(CALIBRATION), 8);
  });
  after(() => {
    evaluator.dispose();
    cache.dispose();
    model.dispose();
  });

  /**
   * Three short restarts from random α with strong Gumbel noise and every late hard mask a
   * candidate: the restarts end at different masks of different KL.
   */
  const search = async (refineRounds: number) => {
    const r = await runNode(
      'masker.search',
      {
        pruneLayers: 3,
        calibration: CALIBRATION,
        batchSize: 8,
        searchBatchSize: 8,
        steps: 6,
        lr: 0.05,
        restarts: 3,
        refineRounds,
        refineSwaps: 'auto',
        window: 1,
        candidates: 4,
        checkpointEvery: 0,
        init: { component: 'importance.random' },
        sampler: { component: 'sampler.gumbelTopk', noise: { from: 3, to: 3 } },
        curriculum: { enabled: false, warmupFraction: 0 },
      },
      { model, data, targets: cache },
      { seed: 5 },
    );
    const metrics = r.outputs.metrics as SearchMetrics;
    const candidates = metrics.restarts.flatMap((x) => x.candidates.map((c) => ({ ...c, restart: x.restart })));
    return { mask: r.outputs.mask as LayerMaskResult, candidates, log: r.log };
  };

  /** The candidates' KLs told apart: the lowest is unique, and neither the first nor the last candidate. */
  function assertCandidatesDiffer(candidates: { kl: number }[]): number {
    const kls = candidates.map((c) => c.kl);
    const min = Math.min(...kls);
    const at = kls.indexOf(min);
    assert.ok(new Set(kls.map((k) => k.toFixed(6))).size >= 3, `candidates of different KL: ${kls}`);
    assert.equal(kls.filter((k) => k - min < 1e-6).length, 1, `one lowest KL: ${kls}`);
    assert.ok(at > 0 && at < kls.length - 1, `the lowest is neither the first nor the last candidate: ${kls}`);
    return at;
  }

  it("without refinement: the argmin over every restart's candidates, each KL its mask's own", async () => {
    const { mask, candidates } = await search(0);
    const at = assertCandidatesDiffer(candidates);
    for (const c of candidates) {
      const own = await evaluator.kl(c.mask);
      assert.ok(Math.abs(c.kl - own) < 1e-6, `${c.source} (restart ${c.restart}): KL ${c.kl}, its mask scores ${own}`);
    }
    const best = candidates[at];
    assert.deepEqual(
      mask.mask,
      best.mask,
      `chose ${mask.details!.chosenFrom}, not ${best.source} (restart ${best.restart})`,
    );
    assert.equal(mask.details!.chosenFrom, `${best.source} (restart ${best.restart})`);
    assert.ok(Math.abs((mask.details!.calibrationKl as number) - best.kl) < 1e-6);
    assert.deepEqual(
      mask.details!.removed,
      best.mask.flatMap((m, i) => (m ? [] : [i])),
    );
  });

  it('with one round of refinement: the best single swap of the best candidate, never a higher KL', async () => {
    const { mask, candidates, log } = await search(1);
    const at = assertCandidatesDiffer(candidates);
    const start = candidates[at];
    // Every swap of one kept and one removed layer of the best candidate (5 × 3 = 15 of them, all within
    // one round at refineSwaps auto), scored apart from the search: the round moves to the best of them.
    let expected = { mask: start.mask, kl: start.kl };
    for (let drop = 0; drop < 8; drop++)
      for (let add = 0; add < 8; add++) {
        if (!start.mask[drop] || start.mask[add]) continue;
        const trial = start.mask.slice();
        trial[drop] = 0;
        trial[add] = 1;
        const kl = await evaluator.kl(trial);
        if (kl < expected.kl - 1e-9) expected = { mask: trial, kl };
      }
    const kl = mask.details!.calibrationKl as number;
    assert.ok(kl <= start.kl + 1e-9, `refined KL ${kl} above the best candidate's ${start.kl}`);
    assert.ok(expected.kl < start.kl - 1e-6, 'a swap improves on the best candidate here, so the check has teeth');
    assert.deepEqual(mask.mask, expected.mask, `refined to KL ${kl}, the best swap gives ${expected.kl}`);
    assert.ok(Math.abs(kl - expected.kl) < 1e-6);
    assert.match(log.join('\n'), /refinement: 1 swap\(s\)/);
    assert.equal(mask.details!.chosenFrom, `${start.source} + 1 swap(s) (restart ${start.restart})`);
  });
});
