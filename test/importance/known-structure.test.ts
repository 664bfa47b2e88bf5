import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, runGraph } from '@e3/core';
import {
  type LayerImportance,
  generateText,
  arithmeticDataset,
  AngularDistance,
  BlockInfluence,
  builtinModules,
  KlDrop,
  LastN,
  MaskEvaluator,
  RandomImportance,
  Sleb,
  allMasks,
} from '@e3/plugins';
import { tempDir, writeFiles } from '../helpers/files.js';
import { useBackend } from '../helpers/tf.js';
import { tinyCheckpoint, tinyModel } from '../helpers/tiny-model.js';

const data = () => arithmeticDataset({ ops: ['+', '-'], maxOperand: 9, heldoutFraction: 0.2 }, new Rng(1));

describe('layer importance on a model with known structure', function () {
  this.timeout(120000);
  before(() => useBackend('wasm'));

  it('every method finds the two identity blocks (1 and 2 of 4)', async () => {
    const h = await tinyModel({ identity: [1, 2], std: 0.6 });
    // Answers are the full model's own greedy completions, so its NLL on them is low and
    // removing a real block raises it (SLEB scores by NLL; on random answers it would not).
    const prompts = await data().calibration(64);
    const own = await generateText(
      h,
      prompts.map((e) => e.prompt),
      { maxNewTokens: 3, stopIds: [-1] },
    );
    const evaluator = new MaskEvaluator(
      h,
      prompts.map((e, i) => ({ prompt: e.prompt, answer: own[i] })),
      32,
    );
    assert.equal(await evaluator.kl([1, 0, 0, 1]), 0);
    assert.ok((await evaluator.kl([0, 1, 1, 1])) > 1e-3, 'removing a real block must cost something');
    for (const m of [new BlockInfluence(), new AngularDistance(), new KlDrop(), new Sleb()] as LayerImportance[]) {
      const { mask } = await m.select(evaluator, 2, new Rng(0));
      assert.deepEqual(mask, [1, 0, 0, 1], m.name);
    }
    assert.deepEqual(
      (await new LastN().select(evaluator, 2)).mask,
      [1, 0, 0, 1],
      'Gromov et al.: the final block stays',
    );
    assert.deepEqual((await new LastN({ keepFinalLayer: false }).select(evaluator, 2)).mask, [1, 1, 0, 0]);
    const r1 = await new RandomImportance().select(evaluator, 2, new Rng(4));
    const r2 = await new RandomImportance().select(evaluator, 2, new Rng(4));
    assert.deepEqual(r1.mask, r2.mask);
    assert.equal(
      r1.mask.reduce((a, b) => a + b),
      2,
    );
    evaluator.dispose();
    h.dispose();
  });

  it('enumerates every mask with Σm = K', () => {
    const masks = [...allMasks(5, 2)];
    assert.equal(masks.length, 10);
    assert.equal(new Set(masks.map((m) => m.join(''))).size, 10);
    assert.ok(masks.every((m) => m.reduce((a, b) => a + b) === 2));
  });

  it('the search and the oracle find the identity blocks; the search is deterministic for a seed', async () => {
    const dir = await tinyCheckpoint({ layers: 6, identity: [2, 4, 5] });
    const graph = writeFiles({
      'g.yaml': `apiVersion: e3/v1
seed: 3
backend: wasm
nodes:
  data: { plugin: data.arithmetic, params: { maxOperand: 9, heldoutFraction: 0.2 } }
  teacher: { plugin: model.hfCheckpoint, params: { path: ${dir} } }
  targets: { plugin: teacher.topkCache, params: { k: 5, dir: ${join(tempDir(), 'cache')}, calibration: 64, heldout: 0 }, in: { model: teacher.model, data: data.data } }
  search:
    plugin: masker.search
    params: { pruneLayers: 3, steps: 40, restarts: 1, refineRounds: 0, calibration: 64, searchBatchSize: 16, lr: 0.2 }
    in: { model: teacher.model, data: data.data, targets: targets.targets }
  oracle: { plugin: masker.exhaustive, params: { pruneLayers: 3, calibration: 64 }, in: { model: teacher.model, data: data.data } }
`,
    });
    const runOnce = async () => {
      const out = join(tempDir(), 'run');
      const r = await runGraph(join(graph, 'g.yaml'), {
        modules: builtinModules,
        outDir: out,
        quiet: true,
        logLevel: 'error',
      });
      return { search: r.lastValues['search.mask'] as any, oracle: r.lastValues['oracle.mask'] as any, out };
    };
    const a = await runOnce();
    assert.deepEqual(a.oracle.mask, [1, 1, 0, 1, 0, 0]);
    assert.deepEqual(a.search.mask, [1, 1, 0, 1, 0, 0]);
    assert.ok(a.search.details.calibrationKl < 1e-9);
    const b = await runOnce();
    assert.deepEqual(b.search.details.alpha, a.search.details.alpha, 'same seed, same α');
    const run = JSON.parse(readFileSync(join(a.out, 'run.json'), 'utf8'));
    assert.equal(run.status, 'succeeded');
  });
});
