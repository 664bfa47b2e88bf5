import { strict as assert } from 'node:assert';
import { e3 } from '../helpers/files.js';

describe('recipe warnings', function () {
  this.timeout(120000);

  it('e3 validate warns, located, when warm-up reaches the step count; the graph still passes', () => {
    const r = e3(['validate', 'graphs/quickstart.yaml', '--set', 'nodes.distill.params.warmupSteps=300']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /warning: --set nodes\.distill\.params\.warmupSteps=300: node "distill" field "params\.warmupSteps": a warm-up of 300 steps in a run of 300: the learning rate never reaches its peak \(lr\) \(fix: warmupSteps below steps, e\.g\. warmupSteps: 30\)/,
    );
    // One step fewer is a warm-up that ends: no warning.
    const ok = e3(['validate', 'graphs/quickstart.yaml', '--set', 'nodes.distill.params.warmupSteps=299', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout).warnings, []);
  });

  it('a calibration set smaller than the search batch, and held-out checks that never run mid-way', () => {
    const r = e3(
      ['validate', 'graphs/quickstart.yaml', '--json']
        .concat(['--set', 'nodes.search.params.calibration=8'])
        .concat(['--set', 'nodes.distill.params.evalEvery=500', '--set', 'nodes.distill.params.checkpointEvery=300']),
    );
    assert.equal(r.code, 0, r.stderr);
    const warnings: string[] = JSON.parse(r.stdout).warnings;
    assert.deepEqual(
      warnings.map((w) => w.match(/field "([^"]+)"/)![1]),
      ['params.searchBatchSize', 'params.evalEvery'],
    );
    // searchBatchSize is the plugin's default (not written): located at the node's line. A checkpoint
    // interval past the steps and a scoring batchSize past the calibration set are no warnings.
    assert.match(warnings[0], /^warning: graphs\/e3-pruner\.yaml:\d+:\d+: node "search".*batch is cut to 8/);
    assert.match(warnings[1], /held-out checks run only before the first step and after the last/);
  });

  it('the shipped graphs have no warnings', () => {
    for (const g of ['graphs/e3-pruner.yaml', 'graphs/quickstart.yaml', 'graphs/search.yaml']) {
      const r = e3(['validate', g, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).warnings, [], g);
    }
  });
});
