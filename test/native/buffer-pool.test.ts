import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { BufferPool, bufferPoolStats, hostHeap, loadAddon } from '@e3/native';
import { Rng } from '@e3/core';
import { maxAbsDiff, useBackend } from '../helpers/tf.js';
import { NO_ADDON, skipBecause } from '../helpers/skip.js';

/** The cpu backend's reuse of disposed native outputs (native/src/buffer-pool.ts), and its guards. */
describe('buffer pool: disposed cpu outputs are reused, never while anything can still see them', function () {
  this.timeout(60_000);
  const rng = new Rng(5);
  const rand = (rows: number, cols: number) =>
    tf.tensor2d(
      Float32Array.from({ length: rows * cols }, () => rng.normal()),
      [rows, cols],
    );
  /** The tensor's own array, read the way kernels read it (not an escape). */
  const own = (t: tf.Tensor) => hostHeap(tf.backend()).typedArrayFromHeap(t);
  const stats = () => bufferPoolStats(tf.backend())!;

  before(async function () {
    if (!loadAddon()) skipBecause(this, NO_ADDON);
    await useBackend('cpu', { native: true, bufferPool: 64 });
  });

  after(async () => useBackend('cpu', { native: true }));

  it('a native output disposed is the memory of the next output of its size, with the new values', () => {
    const [a, b, c, d] = [rand(64, 16), rand(16, 64), rand(64, 16), rand(16, 64)];
    const first = tf.matMul(a, b);
    const memory = own(first);
    const hits = stats().hits;
    first.dispose();
    const second = tf.matMul(c, d);
    assert.equal(own(second), memory, 'the same array came back');
    assert.equal(stats().hits, hits + 1);
    const expected = tf.tidy(() => tf.sum(tf.mul(tf.expandDims(c, 2), tf.expandDims(d, 0)), 1));
    assert.ok(maxAbsDiff(second, expected) < 1e-4);
    tf.dispose([a, b, c, d, second, expected]);
  });

  it('memory read out with dataSync() is never reused: the caller keeps its values', () => {
    const [a, b] = [rand(64, 16), rand(16, 64)];
    const first = tf.matMul(a, b);
    const seen = first.dataSync();
    const copy = Float32Array.from(seen);
    first.dispose();
    const second = tf.matMul(tf.neg(a), b);
    assert.notEqual(own(second), seen);
    assert.deepEqual(seen, copy);
    tf.dispose([a, b, second]);
  });

  it('a tensor that views the memory (a contiguous Slice) keeps it from reuse', () => {
    const [a, b] = [rand(64, 16), rand(16, 64)];
    const first = tf.matMul(a, b);
    const rows = tf.slice(first, [0, 0], [4, 64]);
    const before = Float32Array.from(own(rows) as Float32Array);
    const memory = own(first);
    first.dispose();
    const second = tf.matMul(tf.neg(a), b);
    assert.notEqual(own(second), memory);
    assert.deepEqual(Float32Array.from(own(rows) as Float32Array), before);
    tf.dispose([a, b, rows, second]);
  });

  it('holds at most the room it is given, dropping the buffers that came back first', () => {
    const pool = new BufferPool(() => 3 * 4096 * 4);
    const arrays = [0, 1, 2, 3].map(() => pool.take(4096));
    arrays.forEach((x) => pool.release(x));
    assert.equal(pool.snapshot().heldBytes, 3 * 4096 * 4);
    assert.equal(pool.snapshot().evictedBytes, 4096 * 4);
    assert.equal(pool.take(4096), arrays[3], 'the last one back is the first one out');
    assert.equal(pool.take(100).length, 100);
    assert.ok(!pool.serves(100), 'below one page: ordinary arrays');
  });

  it('bufferPool: false turns reuse off', async () => {
    await useBackend('cpu', { native: true, bufferPool: false });
    const [a, b] = [rand(64, 16), rand(16, 64)];
    const hits = stats().hits;
    const first = tf.matMul(a, b);
    const memory = own(first);
    first.dispose();
    const second = tf.matMul(a, b);
    assert.notEqual(own(second), memory);
    assert.equal(stats().hits, hits);
    tf.dispose([a, b, second]);
    await useBackend('cpu', { native: true, bufferPool: 64 });
  });
});
