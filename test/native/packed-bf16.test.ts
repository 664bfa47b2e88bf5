import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { isPackedBf16, markPackedBf16 } from '@e3/native';
import { useBackend } from '../helpers/tf.js';

describe('packed bf16 weights are marked, not told by their int32 dtype', () => {
  before(async () => {
    await useBackend('cpu');
  });

  it('an int32 tensor of another meaning (token ids) is not packed bf16', () => {
    const ids = tf.tensor2d([[1, 2]], undefined, 'int32');
    assert.equal(isPackedBf16(ids), false);
    ids.dispose();
  });

  it('the mark follows the data into a variable made from the tensor, and not into a copy', () => {
    // 1.5 and -2 in bf16 (the top halves of their f32 bits 0x3fc00000, 0xc0000000), low half first.
    const packed = markPackedBf16(tf.tensor2d([[(0xc000 << 16) | 0x3fc0]], undefined, 'int32'));
    assert.ok(isPackedBf16(packed));
    const v = tf.variable(packed, false);
    assert.ok(isPackedBf16(v), 'the variable shares the tensor data, and so its mark');
    const copy = tf.clone(tf.add(packed, 0));
    assert.equal(isPackedBf16(copy), false, 'new data made from it is not marked');
    tf.dispose([packed, v, copy]);
  });

  it('only int32 tensors can be marked', () => {
    const f = tf.zeros([2, 2]);
    assert.throws(() => markPackedBf16(f), /packed bf16 values are held in int32 elements, not float32/);
    f.dispose();
  });
});
