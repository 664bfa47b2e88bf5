import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { isPackedBf16, loadAddon } from '@e3/native';
import {
  cloneHandle,
  exportCheckpoint,
  generateIds,
  loadCheckpoint,
  trainableVariables,
  type ModelHandle,
} from '@e3/plugins';
import { e3, tempDir } from '../helpers/files.js';
import { maxAbsDiff, useBackend } from '../helpers/tf.js';
import { tinyModel } from '../helpers/tiny-model.js';
import { NO_ADDON, skipBecause } from '../helpers/skip.js';

/** The shared tiny Qwen3 (3 layers), written as bf16 (so bf16 weights stand for its values exactly). */
async function bf16Checkpoint(): Promise<string> {
  await useBackend('cpu');
  const h = await tinyModel({ layers: 3, seed: 8, std: 0.1 });
  const dir = join(tempDir(), 'bf16-model');
  await exportCheckpoint(h, dir, { dtype: 'BF16' });
  h.dispose();
  return dir;
}

const IDS = [
  [3, 9, 14, 2, 10, 7, 7, 11],
  [5, 5, 1, 17, 12, 9, 4, 16],
];

/** Final-norm rows, and the gradient of their mean square to a layer mask (what the mask search takes). */
function forwardAndMaskGradient(h: ModelHandle) {
  const ids = tf.tensor2d(IDS, undefined, 'int32');
  const mask = tf.variable(tf.tensor1d([0.9, 0.6, 0.8]));
  const { value, grads } = tf.variableGrads(
    () => tf.mean(tf.square(h.model.forwardFinal(ids, { mask }).final)),
    [mask],
  );
  const final = tf.tidy(() => h.model.forwardFinal(ids).final);
  const out = { final, loss: value.dataSync()[0], grad: Array.from(grads[mask.name].dataSync()) };
  tf.dispose([ids, mask, value, ...Object.values(grads)]);
  return out;
}

describe('frozen weights in bf16 (model.hfCheckpoint frozenDtype: bfloat16)', function () {
  this.timeout(120_000);
  let dir: string;

  before(async function () {
    if (!loadAddon()) skipBecause(this, NO_ADDON);
    dir = await bf16Checkpoint();
    await useBackend('cpu', { native: true });
  });

  it('holds the projections in half the memory and computes what the f32 model computes', async () => {
    const f32 = await loadCheckpoint(dir);
    const bf16 = await loadCheckpoint(dir, { frozenDtype: 'bfloat16' });
    const q = bf16.model.weights.layers[0].q;
    assert.equal(q.dtype, 'int32');
    assert.ok(isPackedBf16(q), 'the loaded projection (a variable) carries the packed-bf16 mark');
    assert.ok(!isPackedBf16(bf16.model.weights.layers[0].inputNorm), 'a norm weight stays float32, unmarked');
    assert.equal(q.size * 2, f32.model.weights.layers[0].q.size);
    assert.equal(bf16.model.parameterCount(), f32.model.parameterCount());
    const bytes = (h: ModelHandle) => h.model.variables().reduce((n, v) => n + v.size * 4, 0);
    assert.ok(bytes(bf16) < 0.7 * bytes(f32), `${bytes(bf16)} B against ${bytes(f32)} B`);
    const [a, b] = [forwardAndMaskGradient(f32), forwardAndMaskGradient(bf16)];
    assert.ok(maxAbsDiff(a.final, b.final) < 1e-5, 'the same final-norm rows');
    assert.ok(Math.abs(a.loss - b.loss) < 1e-6);
    a.grad.forEach((g, i) => assert.ok(Math.abs(g - b.grad[i]) < 1e-5, `mask gradient ${i}: ${g} vs ${b.grad[i]}`));
    assert.ok(
      a.grad.some((g) => g !== 0),
      'a gradient to the mask (the test could not fail)',
    );
    const prompts = IDS.map((r) => r.slice(0, 4));
    assert.deepEqual(
      await generateIds(bf16, prompts, { maxNewTokens: 6, stopIds: [-1] }),
      await generateIds(f32, prompts, { maxNewTokens: 6, stopIds: [-1] }),
    );
    tf.dispose([a.final, b.final]);
    f32.dispose();
    bf16.dispose();
  });

  it('a copy (as model.prune makes) and an export are f32 again, with the same values', async () => {
    const f32 = await loadCheckpoint(dir);
    const bf16 = await loadCheckpoint(dir, { frozenDtype: 'bfloat16' });
    const copy = cloneHandle(bf16, [0, 2]);
    const want = cloneHandle(f32, [0, 2]);
    for (const [name, t] of want.model.named()) {
      const got = copy.model.named().get(name)!;
      assert.equal(got.dtype, 'float32', name);
      assert.equal(maxAbsDiff(got, t), 0, name);
    }
    assert.doesNotThrow(() => trainableVariables(copy.model, []));
    const out = join(tempDir(), 'bf16-export');
    await exportCheckpoint(bf16, out);
    const back = await loadCheckpoint(out);
    for (const [name, t] of f32.model.named()) assert.equal(maxAbsDiff(back.model.named().get(name)!, t), 0, name);
    [f32, bf16, copy, want, back].forEach((h) => h.dispose());
  });

  it('refuses to train it, and to run it without the fused kernels, saying what to do', async () => {
    const bf16 = await loadCheckpoint(dir, { frozenDtype: 'bfloat16' });
    assert.throws(() => trainableVariables(bf16.model, []), /frozen bf16 weights.*model\.prune makes f32 weights/);
    bf16.dispose();
    await useBackend('cpu', { native: false });
    const plain = await loadCheckpoint(dir, { frozenDtype: 'bfloat16' });
    const ids = tf.tensor2d(IDS, undefined, 'int32');
    assert.throws(() => plain.model.forwardFinal(ids), /runs only on the fused native kernels/);
    ids.dispose();
    plain.dispose();
    await useBackend('cpu', { native: true });
  });

  it('e3 plan counts the bf16 projections at 2 bytes a value', () => {
    const teacherBytes = (sets: string[]) => {
      const r = e3(['plan', 'graphs/quickstart.yaml', '--json', ...sets.flatMap((s) => ['--set', s])]);
      const plan = JSON.parse(r.stdout)['memory plan'];
      return plan.nodes.find((n: { id: string }) => n.id === 'teacher').items[0] as { what: string; bytes: number };
    };
    const f32 = teacherBytes([]);
    const bf16 = teacherBytes(['nodes.teacher.params.frozenDtype=bfloat16']);
    assert.match(bf16.what, /M of them bf16/);
    assert.ok(bf16.bytes < f32.bytes && bf16.bytes > f32.bytes / 2, `${bf16.bytes} B against ${f32.bytes} B`);
  });

  it('runs the pipeline from the CLI: a bf16 teacher for the cache, the search and evaluation', () => {
    const out = join(tempDir(), 'run');
    const r = e3(
      [
        'run',
        'graphs/quickstart.yaml',
        '--out',
        out,
        '--quiet',
        '--set',
        'nodes.teacher.params.frozenDtype=bfloat16',
        '--set',
        'backend=cpu',
        '--set',
        'nodes.search.params.steps=10',
        '--set',
        'nodes.distill.params.steps=5',
        '--set',
        'nodes.distill.params.evalEvery=0',
        '--set',
        'nodes.eval.params.examples=20',
      ],
      { timeoutMs: 110_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(join(out, 'run.log'), 'utf8'), /block projections kept in bf16/);
  });
});
