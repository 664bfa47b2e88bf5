/**
 * One distillation-like step (copy, AdamW, gradients clipped, fused blocks, chunked head) of a random
 * model on wasm in a fresh process; prints the wasm heap's growth and the plan's estimate as JSON.
 * Usage: node test/dist/plan/heap-step.js LAYERS HIDDEN VOCAB BATCH TOKENS (run by measured.test.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '@e3/core';
import {
  AdamW,
  globalNormScale,
  cloneHandle,
  forwardTokens,
  fusedBlocksAvailable,
  HEAD_LIVE,
  modelShape,
  randomModel,
  total,
  trainingStepMemory,
  weights,
} from '@e3/plugins';

const [L, d, V, B, T] = process.argv.slice(2).map(Number);
await initBackend('wasm');
const config = {
  model_type: 'qwen3',
  hidden_size: d,
  intermediate_size: 3 * d,
  num_hidden_layers: L,
  num_attention_heads: d / 32,
  num_key_value_heads: d / 64,
  head_dim: 32,
  max_position_embeddings: 4096,
  tie_word_embeddings: true,
  vocab_size: V,
};
const base = await randomModel({ config, rng: new Rng(1), std: 0.02, where: 'heap-step', tokenizer: 'bytes' });
const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
const ids = tf.tensor2d(
  Array.from({ length: B * T }, (_, i) => 3 + (i % 250)),
  [B, T],
  'int32',
);
const start = heap();
const h = cloneHandle(base);
const opt = new AdamW(h.model.variables(), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
const { value, grads } = tf.variableGrads(() => {
  const { student } = forwardTokens(h.model, ids, { labels: ids, trainHead: true });
  return tf.neg(tf.mean(student.logQLabel)) as tf.Scalar;
}, h.model.variables());
value.dispose();
const ordered = h.model.variables().map((v) => grads[v.name]);
const clipped = await globalNormScale(ordered, 1e-6);
opt.apply(ordered, 1e-3, clipped.scale);
const m = modelShape(base.model.config, 'heap-step');
const items = [
  weights(m, 'copy'),
  ...trainingStepMemory(
    m,
    { B, T, param: 'batchSize' },
    { fused: fusedBlocksAvailable() },
    { frozen: [], recompute: false, chunkTokens: 0, headLive: HEAD_LIVE.studentTrain },
  ),
];
process.stdout.write(
  JSON.stringify({ parameters: m.parameters, heapGrowth: heap() - start, estimate: total(items, (x) => !x.host) }) +
    '\n',
);
