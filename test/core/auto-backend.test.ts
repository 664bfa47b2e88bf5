import { strict as assert } from 'node:assert';
import { initBackend, Logger } from '@e3/core';
import { useBackend } from '../helpers/tf.js';

describe('backend auto reads the plan', function () {
  this.timeout(60000);
  after(() => useBackend('wasm'));

  it('skips the backends the plan refuses and says why in the log', async () => {
    const lines: string[] = [];
    const logger = new Logger('info', 'e3', (l) => lines.push(l));
    const asked: string[] = [];
    const b = await initBackend('auto', logger, async (name) => {
      asked.push(name);
      return name === 'cpu' ? undefined : 'node "search" at its peak needs about 5.2 GiB of tensors';
    });
    assert.equal(b.name, 'cpu');
    assert.ok(asked.includes('wasm') && asked.includes('cpu'), asked.join());
    assert.match(b.reason, /wasm cannot hold the graph: node "search" at its peak needs about 5\.2 GiB/);
    assert.match(lines.join('\n'), /backend cpu \(auto; .*wasm cannot hold the graph: node "search"/);
  });

  it('takes wasm first when it holds the graph, as before', async () => {
    const b = await initBackend('auto', undefined, async (name) => (name === 'tensorflow' ? 'no' : undefined));
    assert.equal(b.name, 'wasm');
  });

  it('when no backend holds the graph, starts the first available one (its pre-flight then refuses)', async () => {
    const b = await initBackend('auto', undefined, async () => 'too big');
    assert.notEqual(b.name, 'cpu');
  });
});
