import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { e3, ROOT, tempDir, writeFiles } from '../helpers/files.js';

const HANG_PLUGINS = join(ROOT, 'test/dist/helpers/hang-plugins.js');

/** Runs a graph of the hang plugins through the CLI; returns the outcome and run.json. */
function run(graph: string) {
  const dir = writeFiles({ 'g.yaml': `apiVersion: e3/v1\n${graph}` });
  const out = join(tempDir(), 'run');
  const r = e3(['run', join(dir, 'g.yaml'), '--out', out, '--plugin', HANG_PLUGINS, '--quiet'], { timeoutMs: 90000 });
  return { ...r, runJson: JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) };
}

const HANGING = (keepAlive: boolean) =>
  [
    'nodes:',
    `  hang: { plugin: test.neverCompletes, params: { values: 1, keepAlive: ${keepAlive} } }`,
    '  wait: { plugin: test.last, in: { in: hang.out } }',
  ].join('\n');

describe('a run that stops making progress fails, naming the node and the port it waits on', function () {
  this.timeout(120000);

  it('a stream that never completes, with nothing left to run: fails at once (not exit 13), run.json "failed"', () => {
    const t0 = Date.now();
    const r = run(HANGING(false));
    assert.equal(r.code, 1, r.stderr);
    const why =
      /e3: node "hang" failed: the run cannot finish: nothing is left to run \(no timer or I\/O pending\); its output "out" \(1 value so far\) never completed \(it has no inputs; plugin test\.neverCompletes\); node "wait" waits on input "in" \(from hang\.out\)\. A stream that never completes is a bug in its plugin/;
    assert.match(r.stderr, why);
    assert.equal(r.runJson.status, 'failed');
    assert.match(`e3: ${r.runJson.error}`, why);
    assert.ok(Date.now() - t0 < 60000, 'it did not wait for stallSeconds (1800 s by default)');
  });

  it('with a timer alive: fails after stallSeconds of no progress', () => {
    const t0 = Date.now();
    const r = run(`stallSeconds: 2\n${HANGING(true)}`);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /node "hang" failed: the run cannot finish: no progress for 2 s \(the graph's stallSeconds\); its output "out" \(1 value so far\) never completed .*node "wait" waits on input "in" \(from hang\.out\)/,
    );
    assert.equal(r.runJson.status, 'failed');
    assert.ok(Date.now() - t0 >= 2000);
  });

  it('a node silent for longer than stallSeconds that reports progress is not stalled', () => {
    const r = run(
      [
        'stallSeconds: 1',
        'nodes:',
        '  work: { plugin: test.ticking, params: { seconds: 3, tickMs: 200 } }',
        '  wait: { plugin: test.last, in: { in: work.out } }',
      ].join('\n'),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.runJson.status, 'succeeded');
  });

  it('stallSeconds must be positive', () => {
    const dir = writeFiles({ 'g.yaml': `apiVersion: e3/v1\nstallSeconds: 0\n${HANGING(false)}` });
    const r = e3(['validate', join(dir, 'g.yaml'), '--plugin', HANG_PLUGINS]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /g\.yaml:2:\d+: field "stallSeconds": .*0/);
  });
});
