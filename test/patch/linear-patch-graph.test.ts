import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { e3, tempDir } from '../helpers/files.js';

/** Runs graphs/baselines/linear-patch.yaml through the CLI; the pruned model's held-out KL and the log. */
function run(...set: string[]): { kl: number; accuracy: number; log: string } {
  const out = join(tempDir(), 'run');
  const quick = ['nodes.eval.params.examples=200', 'nodes.eval.params.speed.enabled=false', ...set];
  const r = e3(
    ['run', 'graphs/baselines/linear-patch.yaml', '--out', out, '--quiet', ...quick.flatMap((s) => ['--set', s])],
    {
      timeoutMs: 240_000,
    },
  );
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  return {
    kl: report.model.klToTeacher,
    accuracy: report.model.accuracy,
    log: readFileSync(join(out, 'run.log'), 'utf8'),
  };
}

describe('graphs/baselines/linear-patch.yaml through the CLI (shipped teacher)', function () {
  this.timeout(600_000);

  it('the patch lowers the held-out KL to the teacher against the same mask without it', () => {
    const patched = run();
    const plain = run('nodes.patched.plugin=model.prune', 'nodes.patched.in.data=null');
    assert.match(
      patched.log,
      /layers 3-4: map fitted on \d+ tokens, folded into model\.layers\.2\.mlp\.down_proj\.weight/,
    );
    assert.doesNotMatch(plain.log, /map fitted/);
    assert.ok(patched.kl < 0.9 * plain.kl, `KL patched ${patched.kl} vs removed ${plain.kl}`);
  });
});
