import { strict as assert } from 'node:assert';
import { loadAddon } from '@e3/native';
import {
  blockSavedFloats,
  blockUpstreamFloats,
  modelShape,
  optimizer,
  parseDecoderConfig,
  trainingPass,
  forwardPass,
  headChunk,
  total,
  HEAD_LIVE,
} from '@e3/plugins';
import { NO_ADDON, skipBecause } from '../helpers/skip.js';

/** The tiny model of test/helpers/tiny-model.ts. */
const TINY = parseDecoderConfig(
  {
    model_type: 'qwen3',
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 8,
    vocab_size: 18,
    max_position_embeddings: 64,
    tie_word_embeddings: true,
  },
  'tiny',
);

describe('memory plan: the estimator against hand arithmetic', () => {
  const m = modelShape(TINY, 'tiny');

  it('counts parameters and the largest tensor', () => {
    // embed 18·32; per block: 2 norms of 32, q 32·32, k and v 16·32, o 32·32, q/k norms of 8,
    // gate/up/down 64·32; the final norm.
    const block = 64 + 1024 + 512 + 512 + 1024 + 16 + 3 * 2048;
    assert.equal(m.parameters, 18 * 32 + 4 * block + 32);
    assert.equal(m.largestTensor, 2048);
  });

  it("sizes a block's workspace and upstream as decoder_block.cc does", function () {
    // B=2, T=5: N=10, D=32, Q=32, K=16, H=4, KV=2, F=64, S=5 (Saved::size term by term).
    const N = 10;
    const saved =
      N * 32 +
      N +
      N * 32 +
      N * 16 +
      N * 4 +
      N * 2 +
      N * 32 +
      N * 16 +
      N * 16 +
      2 * 4 * 5 * 5 +
      N * 32 +
      N * 32 +
      N * 32 +
      N +
      N * 32 +
      3 * N * 64 +
      N * 32;
    assert.equal(saved, 5240);
    assert.equal(blockSavedFloats(TINY, 2, 5), 5240);
    assert.equal(blockUpstreamFloats(TINY, 2, 5), 4 * N * 32 + 2 * N * 64 + 2 * N * 32 + 3 * N * 16);
    const addon = loadAddon();
    if (!addon) skipBecause(this, NO_ADDON);
    for (const [B, T] of [
      [2, 5],
      [3, 17],
      [1, 64],
    ]) {
      const dims = { B, T, P: 0, D: 32, H: 4, KV: 2, hd: 8, F: 64, eps: 1e-6 };
      assert.deepEqual(addon!.decoderBlockSizes(dims), {
        saved: blockSavedFloats(TINY, B, T),
        upstream: blockUpstreamFloats(TINY, B, T),
      });
    }
  });

  it('sums training state and activations per the documented terms', () => {
    const P = m.parameters;
    const [grads, adam, update] = optimizer(m);
    assert.equal(grads.bytes, 4 * P, 'clipping scales inside AdamW: one gradient per weight');
    assert.equal(adam.bytes, 4 * P * 2);
    assert.equal(update.bytes, 3 * 4 * 2048);
    const [kept, backward] = trainingPass(m, { B: 2, T: 5, param: 'batchSize' }, { fused: true });
    assert.equal(kept.bytes, 4 * 4 * (5240 + 10 * 32));
    assert.equal(backward.bytes, 4 * (blockUpstreamFloats(TINY, 2, 5) + 2 * 10 * 32));
    const fwd = forwardPass(m, { B: 2, T: 5, param: 'batchSize' }, { fused: true });
    assert.equal(fwd[0].bytes, 4 * (5 * 10 * 32 + 2 * 10 * 8 + 10));
    assert.equal(fwd[1].host, true);
    assert.equal(fwd[1].bytes, 4 * (5240 + 10 * (32 + 16)));
    // The head: rows = all 10 tokens (160 MiB of logits would be far more), 4 live [10, 18] tensors.
    assert.equal(headChunk(m, 10, 0, HEAD_LIVE.studentTrain, 'x').bytes, 4 * 4 * 10 * 18);
    assert.equal(headChunk(m, 10, 3, 4, 'x').bytes, 4 * 4 * 3 * 18);
    assert.equal(total([grads, adam]), 12 * P);
  });
});
