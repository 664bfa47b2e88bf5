import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { prepareGraph } from '@e3/core';
import {
  builtinModules,
  formatPlan,
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

async function plan(sets: string[] = [], tensorBytes = 2 ** 32, graph = GRAPH, fused = true) {
  const p = await prepareGraph(join(writeFiles({ 'g.yaml': graph }), 'g.yaml'), { modules: builtinModules, sets });
  return planMemory(p.graph, p.loaded, { ...limits(tensorBytes), fused }, p.registry);
}

/** The mask search on the same model: only α trains, so its step is mostly activations. */
const SEARCH = `apiVersion: e3/v1
backend: wasm
nodes:
  data: { plugin: data.arithmetic, params: { maxOperand: 9 } }
  model:
    plugin: model.init
    params:
      config: { model_type: qwen3, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 4, num_attention_heads: 4,
                num_key_value_heads: 2, head_dim: 8, max_position_embeddings: 64, tie_word_embeddings: true }
  targets: { plugin: teacher.topkCache, params: { k: 4, batchSize: 1 }, in: { model: model.model, data: data.data } }
  search:
    plugin: masker.search
    params:
      pruneRatio: 0.5
      steps: 1
      calibration: 64
      batchSize: 1
      searchBatchSize: 64
      init: { component: importance.lastN }
    in: { model: model.model, data: data.data, targets: targets.targets }
`;

describe('memory plan of a graph', () => {
  it("counts the cpu backend's kept buffers (bufferPool) in every node that computes, and nothing when off", async () => {
    const p = await prepareGraph(join(writeFiles({ 'g.yaml': GRAPH }), 'g.yaml'), { modules: builtinModules });
    const off = limitsOf('cpu', { started: false, fused: true, hostBytes: 2 ** 40, bufferPool: false });
    const on = limitsOf('cpu', { started: false, fused: true, hostBytes: 2 ** 40, bufferPool: 256 });
    if (!on.fused) return; // no addon: no native outputs to keep
    assert.equal(off.reuseSlackBytes, 0);
    assert.equal(on.reuseSlackBytes, 256 * 2 ** 20);
    assert.equal(
      limitsOf('wasm', { started: false, fused: true, hostBytes: 2 ** 40, bufferPool: 256 }).reuseSlackBytes,
      0,
      'only the cpu backend keeps them',
    );
    const [a, b] = [planMemory(p.graph, p.loaded, off, p.registry), planMemory(p.graph, p.loaded, on, p.registry)];
    const train = (r: typeof a) => r.nodes.find((n) => n.id === 'train')!;
    assert.equal(train(b).peakBytes - train(a).peakBytes, 256 * 2 ** 20);
    assert.equal(b.nodes.find((n) => n.id === 'data')!.peakBytes, 0, 'a node with no tensors keeps none');
    // Where only the kept buffers make it too big, the refusal says how to keep none.
    const tight = { ...on, hostBytes: train(a).peakBytes + 1 };
    const refused = planMemory(p.graph, p.loaded, tight, p.registry).problems.find((x) => x.node === 'train')!;
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

  it('refuses at a limit the node exceeds when pinned, naming the largest micro-batch that fits', async () => {
    const pinned = ['nodes.train.params.gradientCheckpointing=false'];
    const at = async (m: number) =>
      (await plan([...pinned, `nodes.train.params.microBatch=${m}`])).nodes.find((n) => n.id === 'train')!;
    const [at3, at4] = [await at(3), await at(4)];
    assert.ok(at3.tensorBytes < at4.tensorBytes);
    const r = await plan([...pinned, 'nodes.train.params.microBatch=8'], at3.tensorBytes);
    assert.equal(r.problems.length, 1);
    assert.deepEqual(r.choices, [], 'pinned params are not chosen');
    const [p] = r.problems;
    assert.equal(p.node, 'train');
    // Checkpointing alone would do here too (the sum of gradients costs more than 8 → 3 saves).
    assert.equal(p.field, 'params.gradientCheckpointing');
    assert.match(p.fix!, /set gradientCheckpointing: true, or set microBatch: 3 \(or less\)/);
    assert.match(p.fix!, /backend: cpu/);
    assert.equal(p.file, '--set nodes.train.params.gradientCheckpointing=false');
  });

  it('counts gradientCheckpointing and freeze, and suggests them when one alone makes the node fit', async () => {
    const pinned = ['nodes.train.params.microBatch=64', 'nodes.train.params.gradientCheckpointing=false'];
    const peak = async (sets: string[]) =>
      (await plan(['nodes.train.params.batchSize=64', ...pinned, ...sets])).nodes.find((n) => n.id === 'train')!
        .tensorBytes;
    const plain = await peak([]);
    const checkpointed = await peak(['nodes.train.params.gradientCheckpointing=true']);
    const frozen = await peak(['nodes.train.params.freeze=["embeddings"]']);
    assert.ok(checkpointed < plain, `${checkpointed} vs ${plain}`);
    assert.ok(frozen < plain, `${frozen} vs ${plain}`);
    const r = await plan(['nodes.train.params.batchSize=64', ...pinned], checkpointed);
    const [p] = r.problems;
    assert.match(p.fix!, /set gradientCheckpointing: true/);
    assert.equal(p.field, 'params.gradientCheckpointing');
  });

  it('picks the largest micro-batch that fits when only micro-batches do, and records the choice', async () => {
    const node = (r: Awaited<ReturnType<typeof plan>>, id = 'train') => r.nodes.find((n) => n.id === id)!;
    const whole = await plan();
    assert.deepEqual(whole.choices, [{ node: 'train', params: { microBatch: 8, gradientCheckpointing: false } }]);
    assert.equal(node(whole).step?.why, undefined, 'a batch that fits whole says nothing');
    const at = async (m: number) =>
      node(await plan([`nodes.train.params.microBatch=${m}`, 'nodes.train.params.gradientCheckpointing=false']));
    const [at3, at4, at5] = [await at(3), await at(4), await at(5)];
    // Accumulating keeps a sum of the gradients: one more f32 per trained weight.
    const P = 18 * 32 + 4 * (64 + 1024 + 512 + 512 + 1024 + 16 + 3 * 2048) + 32;
    const sum = at3.items.find((i) => /gradient sum of the earlier micro-batches/.test(i.what));
    assert.equal(sum?.bytes, 4 * P);
    assert.equal(
      node(whole).items.find((i) => /gradient sum/.test(i.what)),
      undefined,
    );
    assert.ok(at3.tensorBytes < at4.tensorBytes && node(whole).tensorBytes > at4.tensorBytes);

    const r = await plan([], at3.tensorBytes);
    assert.deepEqual(r.problems, []);
    const { why, ...step } = node(r).step!;
    assert.deepEqual(step, {
      microBatch: 3,
      gradientCheckpointing: false,
      batch: 8,
      fits: true,
      wholeBytes: node(whole).peakBytes,
    });
    assert.equal(node(r).tensorBytes, at3.tensorBytes, 'the node is planned as it will run');
    assert.deepEqual(r.choices, [{ node: 'train', params: { microBatch: 3, gradientCheckpointing: false }, why }]);
    assert.match(why!, /runs batches of 8 as 3 micro-batches of at most 3 \(gradients summed, one update\)/);
    assert.match(why!, /the whole batch needs about [\d.]+ [KM]iB, backend wasm holds/);
    assert.match(formatPlan(r), new RegExp(`node "train": the memory plan runs batches of 8 as 3 micro-batches`));

    // 5 fits, but 5 + 3 evens out to 4 + 4: as many micro-batches, smaller ones.
    assert.equal(node(await plan([], at5.tensorBytes)).step?.microBatch, 4);
    // Pinned, the plan refuses instead of choosing; with one pinned, it chooses the other.
    const pinned = await plan(
      ['nodes.train.params.microBatch=8', 'nodes.train.params.gradientCheckpointing=false'],
      at3.tensorBytes,
    );
    assert.equal(pinned.problems.length, 1);
    assert.deepEqual(pinned.choices, []);
    const half = await plan(['nodes.train.params.microBatch=8'], at3.tensorBytes);
    assert.deepEqual(half.problems, []);
    assert.deepEqual(half.choices[0].params, { microBatch: 8, gradientCheckpointing: true });
  });

  it('turns on gradient checkpointing only where no micro-batch fits without it', async () => {
    const search = async (sets: string[], bytes?: number, fused = true) => {
      const r = await plan(sets, bytes, SEARCH, fused);
      return { r, node: r.nodes.find((n) => n.id === 'search')! };
    };
    const pin = (m: number, c: boolean) => [
      `nodes.search.params.microBatch=${m}`,
      `nodes.search.params.gradientCheckpointing=${c}`,
    ];
    const [plain1, checkpointed1, checkpointed64] = [
      (await search(pin(1, false))).node,
      (await search(pin(1, true))).node,
      (await search(pin(64, true))).node,
    ];
    assert.ok(checkpointed1.tensorBytes < plain1.tensorBytes, `${checkpointed1.tensorBytes} vs ${plain1.tensorBytes}`);
    // Without checkpointing, one example is already too much: checkpointing comes on, at the largest micro-batch.
    const { r, node } = await search([], plain1.tensorBytes - 1);
    assert.deepEqual(r.problems, []);
    assert.equal(node.step?.gradientCheckpointing, true);
    assert.ok(node.step!.microBatch >= 1 && node.tensorBytes < plain1.tensorBytes);
    assert.match(r.choices[0].why!, /micro-batch(es)? .*with gradient checkpointing/);
    // Room for the whole batch checkpointed, and for micro-batches without: micro-batches (no recompute).
    const roomy = await search([], checkpointed64.tensorBytes);
    assert.equal(roomy.r.choices[0].params.gradientCheckpointing, false);
    assert.ok(Number(roomy.r.choices[0].params.microBatch) > 1);
    // Op by op, blocks do not checkpoint: the plan refuses, saying what it tried.
    const opByOp = await search([], plain1.tensorBytes - 1, false);
    assert.equal(opByOp.r.problems.length, 1);
    assert.match(opByOp.r.problems[0].message, /no micro-batch fits, not even 1 example/);
    // Both pinned, the refusal names checkpointing.
    const pinnedOff = await search(pin(64, false), checkpointed64.tensorBytes);
    assert.match(pinnedOff.r.problems[0].fix!, /set gradientCheckpointing: true/);
  });
});
