import { strict as assert } from 'node:assert';
import { bf16Copies, modelShape, parseDecoderConfig, trainingStepMemory } from '@e3/plugins';
import { QWEN3_06B_CONFIG } from '../helpers/large-checkpoint.js';

const QWEN3 = parseDecoderConfig(QWEN3_06B_CONFIG, 'x');

describe('memory plan: bf16 copies of the weights (bf16 products)', () => {
  // By hand: per layer d·(2q + 2kv + 3F) = 1024·(4096 + 2048 + 9216) = 15,728,640 projection values,
  // × 28 = 440,401,920; the head 151,936 × 1024 = 155,582,464; 2 bytes each: 1,191,968,768.
  const copies = 2 * (440_401_920 + 155_582_464);
  const batch = { B: 4, T: 64, param: 'batchSize' };

  it('bf16 for every product: 2 bytes per f32 projection and head value, host memory', () => {
    const items = bf16Copies(modelShape(QWEN3, 'x'), batch, { fused: true, bf16MinWork: 0 });
    assert.deepEqual(
      items.map((x) => [x.bytes, x.host, x.kind]),
      [[copies, true, 'weights']],
    );
  });

  it('none in f32, op by op, or in auto below its size (one token: 1024·3072 multiply-adds < 32Mi)', () => {
    const m = modelShape(QWEN3, 'x');
    assert.deepEqual(bf16Copies(m, batch, { fused: true }), []);
    assert.deepEqual(bf16Copies(m, batch, { fused: false, bf16MinWork: 0 }), []);
    assert.deepEqual(bf16Copies(m, { B: 1, T: 1, param: 'b' }, { fused: true, bf16MinWork: 2 ** 25 }), []);
    // 256 tokens: 256·1024·3072 = 768Mi multiply-adds, past the threshold.
    assert.equal(bf16Copies(m, batch, { fused: true, bf16MinWork: 2 ** 25 })[0]?.bytes, copies);
  });

  it('weights kept in bf16 (frozenDtype: bfloat16) need none: only the head is copied', () => {
    const m = modelShape(QWEN3, 'x', true);
    assert.equal(m.bf16Parameters, 440_401_920);
    assert.equal(bf16Copies(m, batch, { fused: true, bf16MinWork: 0 })[0]?.bytes, 2 * 155_582_464);
  });

  it("a training step in bf16 counts them once beside the optimizer's f32 state", () => {
    const m = modelShape(QWEN3, 'x');
    const opts = { frozen: [], recompute: true, chunkTokens: 256, headLive: 4 };
    const f32 = trainingStepMemory(m, batch, { fused: true }, opts);
    const bf16 = trainingStepMemory(m, batch, { fused: true, bf16MinWork: 0 }, opts);
    const sum = (xs: { bytes: number }[]) => xs.reduce((s, x) => s + x.bytes, 0);
    assert.equal(sum(bf16) - sum(f32), copies);
  });
});
