import { strict as assert } from 'node:assert';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { e3, tempDir } from '../helpers/files.js';
import { headerOnlyCheckpoint } from '../helpers/large-checkpoint.js';

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
    if (j.peak.bytes > j.limits.hostBytes) this.skip(); // a machine with less memory than the plan needs
    assert.equal(r.code, 0, r.stderr);
    assert.equal(j.peak.node, 'distill');
  });
});
