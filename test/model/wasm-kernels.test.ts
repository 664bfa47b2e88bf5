import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../helpers/tf.js';
import { skipBecause } from '../helpers/skip.js';

/** Gradients of an embedding-like loss (gather → matmul → logSoftmax) on a backend. */
async function grads(backend: 'cpu' | 'wasm'): Promise<Float32Array[]> {
  await useBackend(backend);
  const table = tf.variable(
    tf.tensor2d(
      Array.from({ length: 40 }, (_, i) => Math.sin(i)),
      [10, 4],
    ),
  );
  const w = tf.variable(
    tf.tensor2d(
      Array.from({ length: 24 }, (_, i) => Math.cos(i)),
      [4, 6],
    ),
  );
  const ids = tf.tensor1d([1, 3, 3, 9, 0, 1], 'int32');
  const { grads: g } = tf.variableGrads(
    () => tf.neg(tf.mean(tf.logSoftmax(tf.matMul(tf.gather(table, ids), w)))) as tf.Scalar,
    [table, w],
  );
  const out = [(await g[table.name].data()) as Float32Array, (await g[w.name].data()) as Float32Array];
  [table, w, ids, ...Object.values(g)].forEach((t) => t.dispose());
  return out;
}

describe('wasm training kernels', () => {
  it('gather gradients (UnsortedSegmentSum) on wasm match cpu to 1e-4', async () => {
    const cpu = await grads('cpu');
    const wasm = await grads('wasm');
    assert.ok(tf.getKernel('UnsortedSegmentSum', 'wasm'));
    cpu.forEach((c, i) =>
      c.forEach((v, j) => assert.ok(Math.abs(v - wasm[i][j]) < 1e-4, `grad ${i}[${j}]: ${v} vs ${wasm[i][j]}`)),
    );
    assert.ok(cpu[0].some((v) => v !== 0));
  });
});

describe('wasm GatherV2 (row copies along axis 0)', () => {
  it('matches cpu for embedding lookups, flat vectors, negative and other axes', async () => {
    const run = async (backend: 'cpu' | 'wasm') => {
      await useBackend(backend);
      const table = tf.tensor3d(
        Array.from({ length: 5 * 3 * 2 }, (_, i) => Math.sin(i)),
        [5, 3, 2],
      );
      const ids = tf.tensor2d(
        [
          [4, 0],
          [2, 2],
        ],
        undefined,
        'int32',
      );
      const flat = tf.tensor1d(Array.from({ length: 7 }, (_, i) => i * 1.5));
      return [
        tf.gather(table, ids),
        tf.gather(flat, tf.tensor1d([6, 1, 1], 'int32')),
        tf.gather(table, tf.tensor1d([1, 0], 'int32'), -2),
        tf.gather(table, tf.tensor1d([2], 'int32'), 0),
      ].map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) }));
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    assert.deepEqual(wasm, cpu);
    const { isReplacedKernel } = await import('@e3/native');
    assert.ok(isReplacedKernel('GatherV2', 'wasm'));
    assert.throws(() => tf.gather(tf.ones([3, 2]), tf.tensor1d([3], 'int32')).dataSync(), /index 3 is not in \[0, 2\]/);
  });
});

describe("native OpenBLAS matmul on the wasm heap and the cpu backend's arrays", () => {
  it('matches the cpu backend for plain, transposed and batch-broadcast products', async function () {
    const { loadAddon } = await import('@e3/native');
    if (!loadAddon()) skipBecause(this, 'the native addon is not built (needs g++ and libopenblas-dev)');
    const shapes: [number[], number[], boolean, boolean][] = [
      [[7, 5], [5, 3], false, false],
      [[2, 7, 5], [2, 3, 5], false, true],
      [[2, 5, 7], [1, 5, 3], true, false],
      [[4, 6], [6, 9], false, false],
      [[3, 2, 4], [4, 2], false, false],
      [[0, 4], [4, 3], false, false],
    ];
    const run = async (backend: 'cpu' | 'wasm', native = backend === 'wasm') => {
      await useBackend(backend, { native });
      const out: number[][] = [];
      for (const [sa, sb, ta, tb] of shapes) {
        const n = (s: number[]) => s.reduce((a, b) => a * b, 1);
        const a = tf.tensor(
          Array.from({ length: n(sa) }, (_, i) => Math.sin(i + 1)),
          sa,
        );
        const b = tf.tensor(
          Array.from({ length: n(sb) }, (_, i) => Math.cos(i * 0.7)),
          sb,
        );
        out.push(Array.from(await tf.matMul(a, b, ta, tb).data()));
      }
      return out;
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    const cpuNative = await run('cpu', true);
    const { isReplacedKernel } = await import('@e3/native');
    assert.ok(isReplacedKernel('BatchMatMul', 'wasm'));
    assert.ok(isReplacedKernel('BatchMatMul', 'cpu'));
    cpu.forEach((c, i) =>
      c.forEach((v, j) => assert.ok(Math.abs(v - wasm[i][j]) < 1e-4, `shape ${i} [${j}]: ${v} vs ${wasm[i][j]}`)),
    );
    cpu.forEach((c, i) =>
      c.forEach((v, j) => assert.ok(Math.abs(v - cpuNative[i][j]) < 1e-4, `cpu native ${i} [${j}]`)),
    );
  });
});

describe('fused AdamW kernel on wasm and on cpu with the native kernels', () => {
  it('gives the same weights and moments as the op-by-op update on cpu (1e-6), decay on matrices only', async () => {
    const { AdamW } = await import('@e3/plugins');
    const run = async (backend: 'cpu' | 'wasm', native = backend === 'wasm') => {
      await useBackend(backend, { native });
      const w = tf.variable(
        tf.tensor2d([
          [1, -2],
          [3, 0.5],
        ]),
      );
      const b = tf.variable(tf.tensor1d([0.1, -0.3]));
      // Large enough (> 65,536) for the native update to split across two threads.
      const big = tf.variable(
        tf.tensor2d(
          Array.from({ length: 300 * 300 }, (_, i) => Math.sin(i)),
          [300, 300],
        ),
      );
      const opt = new AdamW([w, b, big], { beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.1 });
      for (let s = 0; s < 5; s++)
        opt.apply(
          [
            tf.tensor2d([
              [0.5, -1],
              [s, 2],
            ]),
            tf.tensor1d([s * 0.1, -0.2]),
            tf.tensor2d(
              Array.from({ length: 300 * 300 }, (_, i) => Math.cos(i * s)),
              [300, 300],
            ),
          ],
          0.01,
        );
      const out = [
        ...(await w.data()),
        ...(await b.data()),
        ...(await opt.m[0].data()),
        ...(await opt.v[1].data()),
        ...(await big.data()),
        ...(await opt.v[2].data()),
      ];
      opt.dispose();
      w.dispose();
      b.dispose();
      big.dispose();
      return out;
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    assert.ok(tf.getKernel('E3AdamW', 'wasm'));
    const cpuNative = await run('cpu', true);
    const { fusedAdamW } = await import('@e3/native');
    assert.ok(fusedAdamW(), 'the cpu backend with native kernels runs the fused AdamW');
    cpu.forEach((v, i) => assert.ok(Math.abs(v - wasm[i]) < 1e-6, `${i}: ${v} vs ${wasm[i]}`));
    cpu.forEach((v, i) => assert.ok(Math.abs(v - cpuNative[i]) < 1e-6, `cpu native ${i}: ${v} vs ${cpuNative[i]}`));
    assert.notEqual(cpu[0], 1);
  });
});

describe('fused AdamW updates in place', () => {
  it("reuses the moments' and a lone variable's buffers, and copies a weight another tensor shares", async () => {
    const { AdamW } = await import('@e3/plugins');
    await useBackend('cpu', { native: true });
    const w = tf.variable(tf.tensor1d([1, 2, 3]));
    const shared = tf.variable(tf.tensor1d([4, 5, 6]));
    const other = tf.clone(shared); // the same buffer (as a student that still shares its teacher's)
    const opt = new AdamW([w, shared], { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
    opt.apply([tf.ones([3]), tf.ones([3])], 0.1);
    const ids = [w.dataId, opt.m[0].dataId, opt.v[0].dataId];
    opt.apply([tf.ones([3]), tf.ones([3])], 0.1);
    assert.deepEqual([w.dataId, opt.m[0].dataId, opt.v[0].dataId], ids, 'updated in place');
    assert.deepEqual(Array.from(other.dataSync()), [4, 5, 6], 'a tensor sharing the weight keeps its values');
    assert.ok(shared.dataSync()[0] < 4, 'the shared weight itself is updated (in a buffer of its own)');
    tf.dispose([w, shared, other]);
    opt.dispose();
  });
});
