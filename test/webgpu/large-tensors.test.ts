import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, limitWebgpuBindings, webgpuSplitCounts } from '@e3/core';
import { exportCheckpoint, loadCheckpoint } from '@e3/plugins';
import { tempDir } from '../helpers/files.js';
import { bigVocabModel, QWEN_VOCAB } from '../helpers/tiny-model.js';
import { skipBecause } from '../helpers/skip.js';
import { useBackend } from '../helpers/tf.js';

/**
 * An 8 MiB binding limit on the 2-layer d = 64 model with Qwen3's vocabulary: the embedding
 * [151936, 64] (37 MiB) is then five windows of 32,768 rows, as the real Qwen3-0.6B embedding
 * (622 MB) is under lavapipe's 128 MiB.
 */
const LIMIT = 8 * 2 ** 20;
const WINDOW = 32_768;
/** Ids at every window's first and last row, and the vocabulary's ends. */
const IDS = [
  [0, 5, WINDOW - 1, WINDOW, 2 * WINDOW - 1, 2 * WINDOW],
  [3 * WINDOW - 1, 3 * WINDOW, 4 * WINDOW - 1, 4 * WINDOW, QWEN_VOCAB - 1, 77_777],
];

async function logitsOn(backend: 'cpu' | 'webgpu', dir: string): Promise<Float32Array> {
  await (backend === 'cpu' ? useBackend('cpu') : initBackend('webgpu'));
  const h = await loadCheckpoint(dir);
  const logits = tf.tidy(() => h.model.forward(tf.tensor2d(IDS, undefined, 'int32')).logits);
  const out = (await logits.data()) as Float32Array;
  logits.dispose();
  h.dispose();
  return out;
}

describe('webgpu: tensors above the storage-buffer binding limit (vocabulary 151,936)', function () {
  this.timeout(300000);
  let dir: string;
  before(async function () {
    try {
      await initBackend('webgpu');
    } catch (e) {
      skipBecause(this, (e as Error).message.split('\n')[0]);
    }
    await useBackend('cpu');
    const h = await bigVocabModel();
    dir = join(tempDir(), 'big-vocab');
    await exportCheckpoint(h, dir);
    h.dispose();
  });
  afterEach(() => limitWebgpuBindings());
  after(() => initBackend('cpu'));

  it("the device gets the adapter's binding, buffer and per-stage storage limits", async () => {
    await initBackend('webgpu');
    const gpu = (globalThis.navigator as unknown as { gpu: { requestAdapter(): Promise<{ limits: object }> } }).gpu;
    const adapter = (await gpu.requestAdapter()).limits as Record<string, number>;
    const device = (tf.backend() as unknown as { device: { limits: Record<string, number> } }).device.limits;
    for (const k of [
      'maxStorageBufferBindingSize',
      'maxBufferSize',
      'maxComputeWorkgroupStorageSize',
      'maxStorageBuffersPerShaderStage',
    ])
      assert.equal(device[k], adapter[k], k);
  });

  it('logits with the embedding lookup and the tied head in row windows match the cpu backend to 1e-4', async () => {
    const cpu = await logitsOn('cpu', dir);
    limitWebgpuBindings(LIMIT);
    const before = webgpuSplitCounts();
    const gpu = await logitsOn('webgpu', dir);
    const after = webgpuSplitCounts();
    assert.equal(after.GatherV2 - before.GatherV2, 1, 'one windowed embedding lookup');
    assert.equal(after.BatchMatMul - before.BatchMatMul, 1, 'one windowed head product');
    assert.equal(gpu.length, IDS.length * IDS[0].length * QWEN_VOCAB);
    let worst = 0;
    cpu.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - gpu[i]) / Math.max(1, Math.abs(v)))));
    assert.ok(worst <= 1e-4, `largest relative difference ${worst}`);
    assert.ok(cpu.some((v) => Math.abs(v) > 1));
  });

  it('a windowed lookup returns exact rows; an untransposed big left operand multiplies as on the host', async () => {
    await initBackend('webgpu');
    limitWebgpuBindings(LIMIT);
    const h = await loadCheckpoint(dir);
    const w = h.model.weights.embed;
    const host = (await w.data()) as Float32Array;
    const d = w.shape[1] as number;
    const ids = IDS.flat();
    const rows = tf.gather(w, tf.tensor1d(ids, 'int32'));
    const got = (await rows.data()) as Float32Array;
    ids.forEach((id, i) => assert.deepEqual(got.subarray(i * d, (i + 1) * d), host.subarray(id * d, (id + 1) * d)));
    const v = Array.from({ length: d * 2 }, (_, i) => Math.sin(i));
    const product = tf.matMul(w, tf.tensor2d(v, [d, 2]));
    const p = (await product.data()) as Float32Array;
    for (let r = 0; r < QWEN_VOCAB; r += 997)
      for (let j = 0; j < 2; j++) {
        let ref = 0;
        for (let k = 0; k < d; k++) ref += host[r * d + k] * v[k * 2 + j];
        assert.ok(
          Math.abs(p[r * 2 + j] - ref) <= 1e-4 * Math.max(1, Math.abs(ref)),
          `row ${r}: ${p[r * 2 + j]} vs ${ref}`,
        );
      }
    [rows, product].forEach((t) => t.dispose());
    h.dispose();
  });

  it('another kernel binding a tensor above the limit throws, naming the kernel, the shape and the limit', async () => {
    await initBackend('webgpu');
    const h = await loadCheckpoint(dir);
    limitWebgpuBindings(LIMIT);
    assert.throws(() => tf.relu(h.model.weights.embed), /binds a tensor \[151936, 64\] of 37 MiB, above .*8 MiB/);
    limitWebgpuBindings();
    const r = tf.relu(h.model.weights.embed);
    assert.equal(r.shape[0], QWEN_VOCAB);
    r.dispose();
    h.dispose();
  });
});
