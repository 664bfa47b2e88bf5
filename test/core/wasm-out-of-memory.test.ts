import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { ROOT } from '../helpers/files.js';
import { runGraph } from '../helpers/graphs.js';

const HEAP_PLUGINS = join(ROOT, 'test/dist/helpers/heap-plugins.js');

const graph = (backend: string) =>
  [
    'apiVersion: e3/v1',
    'seed: 0',
    `backend: ${backend}`,
    'nodes:',
    '  fill: { plugin: test.heapAbort, params: { mib: 256 } }',
  ].join('\n') + '\n';

describe("the wasm backend's abort when its heap runs out", function () {
  this.timeout(120000);

  it('is reported as out of memory in the node that asked, with the live tensors and the fix', () => {
    const r = runGraph(graph('wasm'), ['--plugin', HEAP_PLUGINS]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /node "fill" failed: the wasm backend ran out of memory \(it threw "Aborted\(\)"\): its heap holds at most 4\.00 GiB and 0\.25 GiB of tensors were live when this node asked for more\. If this node needs far less, an earlier node holds tensors it never released\./,
    );
    assert.match(r.stderr, /\(fix: backend: cpu in the graph, or --set backend=cpu, .*or smaller batches/);
    assert.doesNotMatch(r.stderr, /Build with -sASSERTIONS|\n\s+at /);
  });

  it('is left as it is on another backend (there it is no heap running out)', () => {
    const r = runGraph(graph('cpu'), ['--plugin', HEAP_PLUGINS]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /node "fill" failed: Aborted\(\)\. Build with -sASSERTIONS/);
  });
});
