import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { e3, tempDir, writeFiles } from '../helpers/files.js';
import { headerOnlyCheckpoint } from '../helpers/large-checkpoint.js';
import { skipBecause } from '../helpers/skip.js';

describe('e3 plan, and the refusal of e3 validate / e3 run', function () {
  this.timeout(120000);

  it('prints the per-node table and the backend limit; --json has the same figures', () => {
    const r = e3(['plan', 'graphs/quickstart.yaml', '--set', 'backend=wasm']);
    assert.equal(r.code, 0, r.stderr);
    for (const node of ['teacher', 'targets', 'search', 'pruned', 'distill', 'eval', 'export'])
      assert.match(r.stdout, new RegExp(`│ ${node} `));
    assert.match(
      r.stdout,
      /backend wasm \(named in the graph; blocks (fused native kernels|op by op)\): limit 4\.00 GiB of tensors/,
    );
    assert.match(r.stdout, /run peak: .* at node "/);
    const j = JSON.parse(e3(['plan', 'graphs/quickstart.yaml', '--set', 'backend=cpu', '--json']).stdout)[
      'memory plan'
    ];
    assert.equal(j.limits.backend, 'cpu');
    assert.equal(j.limits.tensorBytes, undefined);
    assert.ok(j.limits.hostBytes > 2 ** 30);
    const distill = j.nodes.find((n: { id: string }) => n.id === 'distill');
    assert.ok(distill.peakBytes > 0 && distill.items.some((i: { kind: string }) => i.kind === 'optimizer'));
    assert.deepEqual(j.problems, []);
  });

  it('refuses a 0.6B-shaped model on wasm before any tensor, naming the nodes and what to change', () => {
    const model = headerOnlyCheckpoint();
    const cache = join(tempDir(), 'cache');
    const sets = [
      '--set',
      `vars.teacher=${model}`,
      '--set',
      'backend=wasm',
      '--set',
      `nodes.targets.params.dir=${cache}`,
    ];
    const v = e3(['validate', 'graphs/e3-pruner.yaml', ...sets]);
    assert.equal(v.code, 1, v.stderr);
    assert.match(
      v.stderr,
      /e3-pruner\.yaml:\d+:\d+: node "distill": at its peak needs about [\d.]+ GiB of tensors, more than backend wasm/,
    );
    assert.match(v.stderr, /AdamW m and v/);
    assert.match(v.stderr, /fix: backend: cpu/);
    assert.doesNotMatch(v.stderr, /\n\s+at /);

    const out = join(tempDir(), 'run');
    const r = e3(['run', 'graphs/e3-pruner.yaml', ...sets, '--out', out, '--quiet']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /node "distill": at its peak needs/);
    assert.match(
      r.stderr,
      /node "eval" field "params\.examples": .*\(fix: set examples: \d+ \(or less\), or backend: cpu/,
    );
    assert.deepEqual(readdirSync(out).sort(), ['node-keys.json', 'resolved.yaml', 'run.json', 'run.log']);
    assert.equal(existsSync(cache), false);
  });

  it('passes the same model on cpu when the machine holds it', function () {
    const model = headerOnlyCheckpoint();
    const r = e3(['plan', 'graphs/e3-pruner.yaml', '--set', `vars.teacher=${model}`, '--set', 'backend=cpu', '--json']);
    const j = JSON.parse(r.stdout)['memory plan'];
    if (j.peak.bytes > j.limits.hostBytes) skipBecause(this, 'this machine has less memory than the plan needs');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(j.peak.node, 'distill');
  });

  it('shows the micro-batches it chose for a batch that fits only that way; --json lists the choice', () => {
    // 100,000 examples of ≤ 11 tokens: 36.5 GiB at once, more than the wasm heap; micro-batches fit.
    const sets = ['--set', 'backend=wasm', '--set', 'nodes.distill.params.batchSize=100000'];
    const r = e3(['plan', 'graphs/quickstart.yaml', ...sets]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        'node "distill": the memory plan runs batches of 100000 as \\d+ micro-batches of at most \\d+ ' +
          '\\(gradients summed, one update\\): the whole batch needs about [\\d.]+ GiB, backend wasm holds 4\\.00 GiB',
      ),
    );
    const j = JSON.parse(e3(['plan', 'graphs/quickstart.yaml', ...sets, '--json']).stdout)['memory plan'];
    const choice = j.choices.find((c: { node: string }) => c.node === 'distill');
    assert.ok(
      choice.params.microBatch < 100000 && choice.params.gradientCheckpointing === false,
      JSON.stringify(choice),
    );
    assert.deepEqual(j.problems, []);
    // Pinned, it is refused as before, with the micro-batch that would fit.
    const pinned = e3([
      'validate',
      'graphs/quickstart.yaml',
      ...sets,
      '--set',
      'nodes.distill.params.microBatch=100000',
    ]);
    assert.equal(pinned.code, 1);
    // (the largest that fits: the choice evens the micro-batches out, so it may be smaller)
    const fix = /set microBatch: (\d+) \(or less\)/.exec(pinned.stderr);
    assert.ok(fix && Number(fix[1]) >= choice.params.microBatch, pinned.stderr);
  });

  it('a run applies the choice before any node and records it in resolved.yaml and run.json', () => {
    const dir = writeFiles({
      'g.yaml': `apiVersion: e3/v1
backend: wasm
nodes:
  data: { plugin: data.arithmetic, params: { maxOperand: 9 } }
  model:
    plugin: model.init
    params:
      config: { model_type: qwen3, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4,
                num_key_value_heads: 2, head_dim: 8, max_position_embeddings: 64, tie_word_embeddings: true }
  train:
    plugin: trainer.train
    params: { batchSize: 8, steps: 1, checkpointEvery: 0 }
    in: { model: model.model, data: data.data }
`,
    });
    const out = join(tempDir(), 'run');
    const r = e3(['run', join(dir, 'g.yaml'), '--out', out, '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    const resolved = parse(readFileSync(join(out, 'resolved.yaml'), 'utf8'));
    assert.equal(resolved.nodes.train.params.microBatch, 8, 'the whole batch fits');
    assert.equal(resolved.nodes.train.params.gradientCheckpointing, false);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    assert.deepEqual(run.params, [{ node: 'train', params: { microBatch: 8, gradientCheckpointing: false } }]);
    assert.match(
      readFileSync(join(out, 'run.log'), 'utf8'),
      /node "train": microBatch: 8, gradientCheckpointing: false/,
    );
    // The node key holds the params as written (auto): a run elsewhere, choosing otherwise, resumes the same node.
    const keys = JSON.parse(readFileSync(join(out, 'node-keys.json'), 'utf8'));
    assert.equal(keys.train.spec.params.microBatch, 'auto');
  });
});
