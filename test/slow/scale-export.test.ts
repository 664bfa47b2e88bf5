import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint } from '@e3/plugins';
import { tempDir } from '../helpers/files.js';
import { qwen06 } from '../helpers/large-checkpoint.js';
import { runGraph } from '../helpers/graphs.js';
import { useBackend } from '../helpers/tf.js';

/**
 * A real-size prune through `e3 run` (text data, teacher cache, search, prune, export; no
 * distillation: "0 steps"), then the export loaded back: its logits equal the original's with
 * the removed layers masked out. Slow (a 1.2 GB checkpoint), so only with E3_SLOW=1.
 */
(process.env.E3_SLOW ? describe : describe.skip)(
  'Qwen3-0.6B shape: the export equals the masked original (slow suite)',
  function () {
    this.timeout(3_600_000);

    it('e3 run → export → load: logits equal the masked original to 1e-4', async () => {
      const model = await qwen06();
      const graph =
        [
          'apiVersion: e3/v1',
          'seed: 0',
          'backend: { name: cpu }',
          'nodes:',
          '  data: { plugin: data.brown, params: { maxChars: 128, limit: 400 } }',
          `  teacher: { plugin: model.hfCheckpoint, params: { path: "${model}" } }`,
          `  targets: { plugin: teacher.topkCache, params: { k: 10, calibration: 20, heldout: 20, batchSize: 4, dir: "${tempDir()}" },` +
            ' in: { model: teacher.model, data: data.data } }',
          '  search:',
          '    plugin: masker.search',
          '    params: { pruneRatio: 0.25, calibration: 8, batchSize: 4, searchBatchSize: 4, promptLoss: true, steps: 4,' +
            ' restarts: 1, refineRounds: 1, candidates: 1, init: { component: importance.lastN } }',
          '    in: { model: teacher.model, data: data.data, targets: targets.targets }',
          '  pruned: { plugin: model.prune, in: { model: teacher.model, mask: search.mask } }',
          '  export: { plugin: exporter.hf, params: { dir: pruned }, in: { model: pruned.model } }',
        ].join('\n') + '\n';
      const r = runGraph(graph, [], 3_000_000);
      assert.equal(r.code, 0, r.stderr);
      const info = JSON.parse(readFileSync(join(r.out, 'pruned', 'e3_pruning.json'), 'utf8'));
      assert.equal(info.keptLayers.length, 21);
      await useBackend('cpu', { native: true });
      const original = await loadCheckpoint(model);
      const pruned = await loadCheckpoint(join(r.out, 'pruned'));
      const mask = Array.from({ length: 28 }, (_, l) => (info.keptLayers.includes(l) ? 1 : 0));
      const ids = tf.tensor2d(
        [
          [9707, 11, 1879, 0, 151_643, 42, 7],
          [3, 1, 4, 1, 5, 9, 2],
        ],
        undefined,
        'int32',
      );
      const diff = tf.tidy(() => {
        const a = original.model.forward(ids, { mask }).logits;
        const b = pruned.model.forward(ids).logits;
        return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
      });
      assert.ok(diff < 1e-4, `max |logits difference| ${diff}`);
      ids.dispose();
      original.dispose();
      pruned.dispose();
    });
  },
);
