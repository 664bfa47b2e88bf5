import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { activeAddon, hostHeap, loadAddon, markGradientAccumulator, matMulAccumulate } from '@e3/native';
import { Rng } from '@e3/core';
import { maxAbsDiff, useBackend } from '../helpers/tf.js';
import { NO_ADDON, skipBecause } from '../helpers/skip.js';

/** The host-memory kernels a real-size training step leans on (cpu backend, native kernels on). */
describe('native host kernels: accumulating matmul, large Add, identity Transpose, sparse segment sums', function () {
  this.timeout(60_000);
  const rng = new Rng(11);
  const rand = (shape: [number, number]) =>
    tf.tensor2d(
      Float32Array.from({ length: shape[0] * shape[1] }, () => rng.normal()),
      shape,
    );

  before(async function () {
    if (!loadAddon()) skipBecause(this, NO_ADDON);
    await useBackend('cpu', { native: true });
    assert.ok(activeAddon());
  });

  it('matMulAccumulate adds op(a)·op(b) into the accumulator in place, for every transpose', () => {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ]) {
      const a = rand(ta ? [7, 5] : [5, 7]);
      const b = rand(tb ? [3, 7] : [7, 3]);
      const acc = rand([5, 3]);
      const expected = tf.add(acc, tf.matMul(a, b, ta, tb));
      const out = matMulAccumulate(activeAddon(), acc, a, b, { transA: ta, transB: tb });
      assert.equal(out, acc, 'the same tensor comes back');
      assert.ok(maxAbsDiff(out, expected) < 1e-5);
      tf.dispose([a, b, acc, expected]);
    }
  });

  it('matMulAccumulate without the addon returns a new sum and disposes the old accumulator', () => {
    const [a, b, acc] = [rand([4, 6]), rand([6, 2]), rand([4, 2])];
    const expected = tf.add(acc, tf.matMul(a, b));
    const out = matMulAccumulate(undefined, acc, a, b);
    assert.notEqual(out, acc);
    assert.ok(acc.isDisposed);
    assert.ok(maxAbsDiff(out, expected) < 1e-5);
    tf.dispose([a, b, out, expected]);
  });

  it('a large same-shape Add runs natively and matches the element-wise sum', () => {
    const [x, y] = [rand([700, 1000]), rand([700, 1000])];
    const sum = tf.add(x, y);
    const [xs, ys, ss] = [x.dataSync(), y.dataSync(), sum.dataSync()];
    for (const i of [0, 1, 12345, 699_999]) assert.equal(ss[i], Math.fround(xs[i] + ys[i]));
    tf.dispose([x, y, sum]);
  });

  it('an identity Transpose shares the input values instead of copying them', () => {
    const x = rand([300, 200]);
    const before = tf.memory().numDataBuffers;
    const same = tf.transpose(x, [0, 1]);
    assert.equal(tf.memory().numDataBuffers, before, 'no new buffer');
    assert.deepEqual(same.shape, [300, 200]);
    x.dispose();
    assert.equal(same.dataSync()[5], same.dataSync()[5]);
    assert.ok(!same.isDisposed);
    const t = tf.transpose(rand([2, 3]), [1, 0]);
    assert.deepEqual(t.shape, [3, 2]);
    tf.dispose([same, t]);
  });

  it("an embedding's gradient (gather → segment sum) only writes the rows it hits", () => {
    const table = rand([1000, 4]);
    const ids = tf.tensor1d([3, 3, 999], 'int32');
    const g = tf.grad((w: tf.Tensor) => tf.sum(tf.gather(w, ids)))(table);
    const v = g.dataSync();
    assert.deepEqual(Array.from(v.slice(12, 16)), [2, 2, 2, 2]);
    assert.deepEqual(Array.from(v.slice(3996, 4000)), [1, 1, 1, 1]);
    assert.equal(
      Array.from(v).reduce((s, x) => s + x, 0),
      12,
    );
    tf.dispose([table, ids, g]);
  });

  it("a tied weight's two gradients are summed in place into the one marked as the tape's, rows only", () => {
    const table = rand([1000, 4]);
    const ids = tf.tensor1d([3, 3, 999], 'int32');
    const own = (t: tf.Tensor) => hostHeap(tf.backend()).typedArrayFromHeap(t);
    // The head's gradient is marked by its maker; the lookup's is a segment sum (rows 3 and 999 written).
    const headGrad = rand([1000, 4]);
    const expected = tf.tidy(() =>
      tf.add(
        tf.clone(headGrad),
        tf.scatterND(
          [[3], [999]],
          [
            [2, 2, 2, 2],
            [1, 1, 1, 1],
          ],
          [1000, 4],
        ),
      ),
    );
    markGradientAccumulator(headGrad);
    const lookup = tf.grad((w: tf.Tensor) => tf.sum(tf.gather(w, ids)))(table);
    const memory = own(headGrad);
    const sum = tf.add(headGrad, lookup);
    assert.equal(own(sum), memory, 'summed into the head gradient itself');
    assert.ok(maxAbsDiff(sum, expected) < 1e-6);
    headGrad.dispose();
    assert.ok(maxAbsDiff(sum, expected) < 1e-6, 'the sum outlives the old reference');
    // Without the mark (or once used), an Add makes a new tensor and leaves its inputs alone.
    const again = tf.add(sum, lookup);
    assert.notEqual(own(again), memory);
    assert.ok(maxAbsDiff(sum, expected) < 1e-6);
    tf.dispose([table, ids, lookup, sum, again, expected]);
  });
});
