import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { e3, tempDir } from '../helpers/files.js';
import { reducedQuickstart } from '../helpers/quickstart.js';

describe('quickstart graph end to end (reduced size, through the CLI)', function () {
  this.timeout(600000);

  it('searches, prunes, distils, evaluates and exports a loadable checkpoint with a report', () => {
    const run = join(tempDir(), 'run');
    const out = join(run, 'pruned');
    const r = reducedQuickstart(run, ['--quiet', '--set', `vars.out=${out}`], 'graphs/quickstart.yaml', 590000);
    assert.equal(r.code, 0, r.stderr);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    assert.equal(cfg.num_hidden_layers, 6);
    const rec = JSON.parse(readFileSync(join(out, 'e3_pruning.json'), 'utf8'));
    assert.equal(rec.removedLayers.length, 2);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.equal(report.model.layers, 6);
    assert.equal(report.teacher.layers, 8);
    assert.ok(report.speedup.ideal > 1.3 && report.speedup.ideal < 1.34);
    assert.ok(report.training.evalCurve.length >= 2);
    assert.match(readFileSync(join(out, 'report.md'), 'utf8'), /## Teacher vs pruned model/);
    assert.ok(existsSync(join(run, 'resolved.yaml')));
    assert.equal(JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')).status, 'succeeded');
    const info = e3(['model', 'info', out]);
    assert.equal(JSON.parse(info.stdout).layers, 6);
    const gen = e3(['generate', out, '--prompt', '12+34=', '--max-new-tokens', '4']);
    assert.equal(gen.code, 0, gen.stderr);
    assert.equal(gen.stdout.split('\n').length, 2);
  });

  it('an ablation overlay and --set reproduce the same resolved change', () => {
    const a = e3(['describe', 'graphs/ablations/sampler-deterministic.yaml']);
    const b = e3([
      'describe',
      'graphs/e3-pruner.yaml',
      '--set',
      'nodes.search.params.sampler.component=sampler.deterministicTopk',
    ]);
    assert.equal(a.code, 0, a.stderr);
    const section = (s: string) => s.slice(s.indexOf('search: masker.search'), s.indexOf('pruned: model.prune'));
    assert.equal(section(a.stdout), section(b.stdout));
    assert.match(section(a.stdout), /component: sampler.deterministicTopk/);
    assert.doesNotMatch(section(a.stdout), /noise/);
  });
});
