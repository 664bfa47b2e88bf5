import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { runGraph } from '@e3/core';
import { builtinModules, exportCheckpoint, headChunkRows } from '@e3/plugins';
import { tempDir, writeFiles } from '../helpers/files.js';
import { arithmeticGraphHead } from '../helpers/graphs.js';
import { useBackend } from '../helpers/tf.js';
import { bigVocabModel, QWEN_VOCAB } from '../helpers/tiny-model.js';

/** Teacher cache → mask search → prune → distillation on a checkpoint with Qwen3's vocabulary. */
function graph(model: string, cache: string, chunk: number): string {
  return writeFiles({
    'g.yaml': `${arithmeticGraphHead(model)}  targets:
    plugin: teacher.topkCache
    params: { k: 4, dir: ${cache}, calibration: 64, heldout: 0, headChunkTokens: ${chunk} }
    in: { model: teacher.model, data: data.data }
  search:
    plugin: masker.search
    params:
      pruneLayers: 1
      steps: 2
      restarts: 1
      calibration: 64
      searchBatchSize: 64
      refineRounds: 0
      candidates: 1
      headChunkTokens: ${chunk}
    in: { model: teacher.model, data: data.data, targets: targets.targets }
  pruned: { plugin: model.prune, in: { model: teacher.model, mask: search.mask } }
  distill:
    plugin: distiller.train
    params:
      steps: 2
      batchSize: 64
      checkpointEvery: 0
      logEvery: 1
      headChunkTokens: ${chunk}
      loss: [{ component: loss.akl }, { component: loss.crossEntropy, labelSmoothing: 0.1 }]
    in: { model: pruned.model, targets: targets.targets, data: data.data }
`,
  });
}

describe('search and distillation at a Qwen3-sized vocabulary (151,936) through a graph', function () {
  this.timeout(300000);
  before(() => useBackend('wasm'));

  it('run 2 steps each with the head in chunks: no kernel makes a B·T × V tensor', async () => {
    const h = await bigVocabModel(2);
    const dir = join(tempDir(), 'big-vocab');
    await exportCheckpoint(h, dir);
    h.dispose();
    const chunk = 16;
    const g = graph(dir, join(tempDir(), 'cache'), chunk);
    let result: Awaited<ReturnType<typeof runGraph>> | undefined;
    const info = await tf.profile(async () => {
      const outDir = join(tempDir(), 'run');
      result = await runGraph(join(g, 'g.yaml'), { modules: builtinModules, outDir, quiet: true, logLevel: 'error' });
    });
    const history = (result!.lastValues['distill.metrics'] as { history: { loss: number }[] }).history;
    assert.equal(history.length, 2);
    assert.ok(history.every((m) => Number.isFinite(m.loss)));
    const search = result!.lastValues['search.metrics'] as { restarts: { history: unknown[] }[] };
    assert.equal(search.restarts[0].history.length, 2);
    // Every batch here has 64 examples of ≥ 5 tokens, so B·T ≥ 320 rows; the widest tensor any kernel
    // made (weight-shaped [V, d] copies aside) is one chunk: `chunk` rows in the nodes, ≤ 276 in the evaluators.
    const shapes = info.kernels.flatMap((k) => k.outputShapes).filter((s) => s[0] !== QWEN_VOCAB);
    const widest = Math.max(...shapes.map((s) => s.reduce((a, c) => a * c, 1)));
    assert.ok(widest <= headChunkRows(QWEN_VOCAB) * QWEN_VOCAB, `a kernel made ${widest} elements`);
    assert.ok(widest < 320 * QWEN_VOCAB);
    const chunked = shapes.some((s) => s.length === 2 && s[0] === chunk && s[1] === QWEN_VOCAB);
    assert.ok(chunked, 'the nodes ran their head in chunks');
  });
});
