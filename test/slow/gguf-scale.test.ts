import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '@e3/plugins';
import { qwen06 } from '../helpers/large-checkpoint.js';
import { runGraph } from '../helpers/graphs.js';
import { llamaCpp, roundTrip } from '../helpers/llama-cpp.js';
import { skipBecause } from '../helpers/skip.js';
import { useBackend } from '../helpers/tf.js';

/**
 * The Qwen3-0.6B shape pruned at 25% (7 of 28 blocks) through `e3 run` with exporter.gguf (F32 and
 * BF16), loaded in llama.cpp: its next-token log-probabilities equal e3's for the original with those
 * blocks masked out, within 1e-3 of the largest logit in F32 (2e-2 in BF16, where llama.cpp also
 * rounds the activations to bf16 in its products). Slow (a 1.2 GB checkpoint, a 1.9 GB
 * GGUF), so only with E3_SLOW=1.
 */
describe('Qwen3-0.6B shape pruned at 25%, as GGUF in llama.cpp (slow suite)', function () {
  this.timeout(3_600_000);

  it('e3 run → exporter.gguf → llama.cpp: F32 logits within 1e-3 of the largest, same argmax; BF16 within 2e-2', async function () {
    if (!process.env.E3_SLOW) skipBecause(this, 'slow; run with E3_SLOW=1 (npm run test:slow)');
    const llama = await llamaCpp();
    if (typeof llama === 'string') skipBecause(this, llama);
    const model = await qwen06();
    const drop = [3, 7, 11, 15, 19, 23, 26];
    const graph =
      [
        'apiVersion: e3/v1',
        'backend: { name: cpu }',
        'nodes:',
        `  teacher: { plugin: model.hfCheckpoint, params: { path: "${model}" } }`,
        `  mask: { plugin: masker.fixed, params: { drop: [${drop.join(', ')}] }, in: { model: teacher.model } }`,
        '  pruned: { plugin: model.prune, in: { model: teacher.model, mask: mask.mask } }',
        '  export: { plugin: exporter.gguf, params: { dir: gguf, dtype: F32 }, in: { model: pruned.model } }',
        '  bf16: { plugin: exporter.gguf, params: { dir: gguf-bf16, dtype: BF16 }, in: { model: pruned.model } }',
      ].join('\n') + '\n';
    const r = runGraph(graph, [], 3_000_000);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(readFileSync(join(r.out, 'gguf', 'e3_pruning.json'), 'utf8'));
    assert.equal(info.keptLayers.length, 21);
    await useBackend('cpu', { native: true });
    const original = await loadCheckpoint(model);
    const mask = Array.from({ length: 28 }, (_, l) => (drop.includes(l) ? 0 : 1));
    const prompts = ['The capital of France is', 'def fib(n):\n    return'].map((s) => original.tokenizer!.encode(s));
    const w = await roundTrip(llama, join(r.out, 'gguf', 'model.gguf'), original, prompts, mask);
    const b = await roundTrip(llama, join(r.out, 'gguf-bf16', 'model.gguf'), original, prompts, mask);
    original.dispose();
    if (process.env.E3_GGUF_REPORT)
      process.stdout.write(`      F32 ${JSON.stringify(w)}\n      BF16 ${JSON.stringify(b)}\n`);
    assert.ok(w.relLogit < 1e-3, `F32: log-probability difference ${w.relLogit} of the largest |logit|`);
    assert.ok(w.sameArgmax, 'F32: argmax differs');
    assert.ok(b.relLogit < 2e-2, `BF16: log-probability difference ${b.relLogit} of the largest |logit|`);
  });
});
