import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { prepareGraph } from '@e3/core';
import {
  builtinModules,
  headChunk,
  modelShape,
  total,
  parseDecoderConfig,
  limitsOf,
  planMemory,
  trainingStepMemory,
  type PlanLimits,
} from '@e3/plugins';
import { writeFiles } from '../helpers/files.js';

const GRAPH = `apiVersion: e3/v1
backend: wasm
nodes:
  data: { plugin: data.arithmetic, params: { maxOperand: 9 } }
  model:
    plugin: model.init
    params:
      config: { model_type: qwen3, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 4, num_attention_heads: 4,
                num_key_value_heads: 2, head_dim: 8, max_position_embeddings: 64, tie_word_embeddings: true }
  train: { plugin: trainer.train, params: { batchSize: 8, steps: 1 }, in: { model: model.model, data: data.data } }
`;

const limits = (tensorBytes: number): PlanLimits => ({
  backend: 'wasm',
  how: 'test',
  tensorBytes,
  hostBytes: 2 ** 40,
  fused: true,
});

async function plan(sets: string[] = [], tensorBytes = 2 ** 32) {
  const p = await prepareGraph(join(writeFiles({ 'g.yaml': GRAPH }), 'g.yaml'), { modules: builtinModules, sets });
  return planMemory(p.graph, p.loaded, limits(tensorBytes));
}

describe('memory plan of a graph', () => {
  it("counts the cpu backend's kept buffers (bufferPool) in every node that computes, and nothing when off", async () => {
    const p = await prepareGraph(join(writeFiles({ 'g.yaml': GRAPH }), 'g.yaml'), { modules: builtinModules });
    const off = limitsOf('cpu', false, true, 2 ** 40, false);
    const on = limitsOf('cpu', false, true, 2 ** 40, 256);
    if (!on.fused) return; // no addon: no native outputs to keep
    assert.equal(off.reuseSlackBytes, 0);
    assert.equal(on.reuseSlackBytes, 256 * 2 ** 20);
    assert.equal(limitsOf('wasm', false, true, 2 ** 40, 256).reuseSlackBytes, 0, 'only the cpu backend keeps them');
    const [a, b] = [planMemory(p.graph, p.loaded, off), planMemory(p.graph, p.loaded, on)];
    const train = (r: typeof a) => r.nodes.find((n) => n.id === 'train')!;
    assert.equal(train(b).peakBytes - train(a).peakBytes, 256 * 2 ** 20);
    assert.equal(b.nodes.find((n) => n.id === 'data')!.peakBytes, 0, 'a node with no tensors keeps none');
    // Where only the kept buffers make it too big, the refusal says how to keep none.
    const tight = { ...on, hostBytes: train(a).peakBytes + 1 };
    const refused = planMemory(p.graph, p.loaded, tight).problems.find((x) => x.node === 'train')!;
    assert.match(refused.fix!, /backend: \{ name: cpu, bufferPool: 0 \}/);
  });

  it("adds the resident model to the trainer's own terms", async () => {
    const r = await plan();
    const train = r.nodes.find((n) => n.id === 'train')!;
    // vocab 3 specials + 15 characters = 18; P as in estimator.test.ts.
    const P = 18 * 32 + 4 * (64 + 1024 + 512 + 512 + 1024 + 16 + 3 * 2048) + 32;
    assert.deepEqual(
      train.resident.map((x) => x.bytes),
      [4 * P],
    );
    // "9+9=" / "0-9=" and at most two answer characters, then the end token: ≤ 8 tokens per sequence.
    const T = 8;
    const shape = modelShape(
      parseDecoderConfig(
        {
          model_type: 'qwen3',
          hidden_size: 32,
          intermediate_size: 64,
          num_hidden_layers: 4,
          num_attention_heads: 4,
          num_key_value_heads: 2,
          head_dim: 8,
          max_position_embeddings: 64,
          tie_word_embeddings: true,
          vocab_size: 18,
        },
        'x',
      ),
      'x',
    );
    const opts = { frozen: [], recompute: false, chunkTokens: 0, headLive: 4 };
    const step = trainingStepMemory(shape, { B: 8, T, param: 'batchSize' }, { fused: true }, opts);
    const own = 4 * P + total(step);
    // Its terms: AdamW's state, then the larger phase of the step (here its start: activations and the head).
    const [adam, kept, oneBlock, head, headGrad] = step;
    assert.equal(adam.bytes, 8 * P);
    assert.match(kept.what, /activations kept for backward, 4 blocks/);
    assert.match(oneBlock.what, /backward pass of one block/);
    assert.equal(head.bytes, headChunk(shape, 8 * T, 0, 4, 'x').bytes);
    assert.equal(headGrad.bytes, 4 * 18 * 32);
    assert.ok(total([kept, oneBlock, head, headGrad]) >= 4 * P + oneBlock.bytes);
    assert.equal(train.peakBytes, 4 * P + own);
    assert.equal(r.peak.node, 'train');
    assert.equal(r.problems.length, 0);
  });

  it('refuses at a limit the node exceeds, naming the largest batch that fits', async () => {
    const at3 = (await plan(['nodes.train.params.batchSize=3'])).nodes.find((n) => n.id === 'train')!;
    const at4 = (await plan(['nodes.train.params.batchSize=4'])).nodes.find((n) => n.id === 'train')!;
    assert.ok(at3.tensorBytes < at4.tensorBytes);
    const r = await plan([], at3.tensorBytes);
    assert.equal(r.problems.length, 1);
    const [p] = r.problems;
    assert.equal(p.node, 'train');
    assert.equal(p.field, 'params.batchSize');
    assert.match(p.fix!, /set batchSize: 3 \(or less\)/);
    assert.match(p.fix!, /backend: cpu/);
    assert.match(p.file!, /g\.yaml$/);
    assert.equal(p.line, 10);
  });

  it('counts gradientCheckpointing and freeze, and suggests them when one alone makes the node fit', async () => {
    const peak = async (sets: string[]) =>
      (await plan(['nodes.train.params.batchSize=64', ...sets])).nodes.find((n) => n.id === 'train')!.tensorBytes;
    const plain = await peak([]);
    const checkpointed = await peak(['nodes.train.params.gradientCheckpointing=true']);
    const frozen = await peak(['nodes.train.params.freeze=["embeddings"]']);
    assert.ok(checkpointed < plain, `${checkpointed} vs ${plain}`);
    assert.ok(frozen < plain, `${frozen} vs ${plain}`);
    const r = await plan(['nodes.train.params.batchSize=64'], checkpointed);
    const [p] = r.problems;
    assert.match(p.fix!, /set gradientCheckpointing: true/);
    assert.equal(p.field, 'params.gradientCheckpointing');
  });
});
