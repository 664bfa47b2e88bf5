import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { Container } from 'inversify';
import { Observable, Subject, from, map } from 'rxjs';
import {
  CancelledError,
  execute,
  loadGraph,
  manifestModule,
  NodeError,
  Registry,
  validateGraph,
  Rng,
  LOGGER,
  Logger,
  RNG,
  type GraphNode,
  type PluginManifest,
} from '@e3/core';
import { injectable } from 'inversify';
import { sunk, testModule, tornDown } from '../helpers/test-plugins.js';
import { writeFiles } from '../helpers/files.js';

/** A disposable value that records its disposal. */
class Box {
  disposed = 0;
  constructor(readonly v: number) {}
  dispose() {
    this.disposed++;
  }
}
const boxes: Box[] = [];

@injectable()
class BoxSource implements GraphNode {
  connect() {
    return {
      out: from([1, 2]).pipe(
        map((v) => {
          const b = new Box(v);
          boxes.push(b);
          return b;
        }),
      ),
    };
  }
}
@injectable()
class BoxPass implements GraphNode {
  connect(i: { in: Observable<Box> }) {
    return { out: i.in };
  }
}
@injectable()
class BoxRead implements GraphNode {
  static seen: number[] = [];
  connect(i: { in: Observable<Box> }) {
    return {
      out: i.in.pipe(
        map((b) => {
          assert.equal(b.disposed, 0, 'a consumer saw a disposed value');
          BoxRead.seen.push(b.v);
          return b.v;
        }),
      ),
    };
  }
}
const boxPlugins: PluginManifest[] = [
  {
    key: 'box.source',
    doc: '',
    inputs: {},
    outputs: { out: { type: 'Box' } },
    params: { type: 'object' },
    node: BoxSource,
  },
  {
    key: 'box.pass',
    doc: '',
    inputs: { in: { type: 'Box' } },
    outputs: { out: { type: 'Box' } },
    params: { type: 'object' },
    node: BoxPass,
  },
  {
    key: 'box.read',
    doc: '',
    inputs: { in: { type: 'Box' } },
    outputs: { out: { type: 'Number' } },
    params: { type: 'object' },
    node: BoxRead,
  },
];

function run(yaml: string, signal?: AbortSignal) {
  const dir = writeFiles({ 'g.yaml': yaml });
  const c = new Container({ autobind: true });
  c.load(testModule, manifestModule(boxPlugins));
  c.bind(RNG).toConstantValue(new Rng(1));
  c.bind(LOGGER).toConstantValue(new Logger('error'));
  const registry = new Registry(c);
  return execute(validateGraph(loadGraph(join(dir, 'g.yaml')), registry), registry, c, { signal });
}

const head = 'apiVersion: e3/v1\nnodes:\n';

describe('executor', () => {
  it('streams values through components and shares an output between consumers', async () => {
    const r = await run(
      head +
        '  s: { plugin: test.source, params: { values: [1, 2, 3] } }\n  m: { plugin: test.map, params: { op: { component: op.mul, n: 10 } }, in: { in: s.out } }\n  k1: { plugin: test.sink, in: { in: m.out } }\n  k2: { plugin: test.sink, in: { in: m.out, extra: s.out } }\n',
    );
    assert.deepEqual(sunk.k1, [10, 20, 30]);
    assert.deepEqual(sunk.k2, [10, 20, 30]);
    assert.equal(r.timings.m.values, 3);
    assert.ok(r.timings.k2.completedMs! >= r.timings.m.completedMs!);
    assert.equal(r.lastValues['k1.done'], 30);
  });

  it('stops on the first error and names the node', async () => {
    await assert.rejects(
      run(
        head +
          '  s: { plugin: test.source, params: { values: [1], failWith: boom } }\n  k: { plugin: test.sink, in: { in: s.out } }\n',
      ),
      (e: unknown) => e instanceof NodeError && e.nodeId === 's' && /node "s" failed: boom/.test(e.message),
    );
  });

  it('cancels: unsubscribes every node (teardown runs) and rejects with exit code 130', async () => {
    tornDown.length = 0;
    const abort = new AbortController();
    const p = run(
      head + '  s: { plugin: test.source, params: { hang: true } }\n  k: { plugin: test.sink, in: { in: s.out } }\n',
      abort.signal,
    );
    setTimeout(() => abort.abort(), 20);
    await assert.rejects(p, (e: unknown) => e instanceof CancelledError && e.exitCode === 130);
    assert.deepEqual(tornDown, ['s']);
  });

  it('disposes a value once, after its last consumer, even when forwarded', async () => {
    boxes.length = 0;
    BoxRead.seen = [];
    await run(
      head +
        '  s: { plugin: box.source }\n  p: { plugin: box.pass, in: { in: s.out } }\n  r1: { plugin: box.read, in: { in: p.out } }\n  r2: { plugin: box.read, in: { in: s.out } }\n',
    );
    assert.deepEqual(BoxRead.seen.sort(), [1, 1, 2, 2]);
    assert.equal(boxes.length, 2);
    assert.deepEqual(
      boxes.map((b) => b.disposed),
      [1, 1],
    );
  });

  it('completes consumers when a producer completes', async () => {
    const s = new Subject<number>();
    @injectable()
    class Manual implements GraphNode {
      connect() {
        return { out: s.asObservable() };
      }
    }
    const dir = writeFiles({
      'g.yaml': head + '  s: { plugin: manual.source }\n  k: { plugin: test.sink, in: { in: s.out } }\n',
    });
    const c = new Container({ autobind: true });
    c.load(
      testModule,
      manifestModule([
        {
          key: 'manual.source',
          doc: '',
          inputs: {},
          outputs: { out: { type: 'Number' } },
          params: { type: 'object' },
          node: Manual,
        },
      ]),
    );
    const registry = new Registry(c);
    const done = execute(validateGraph(loadGraph(join(dir, 'g.yaml')), registry), registry, c);
    s.next(4);
    s.next(5);
    s.complete();
    await done;
    assert.deepEqual(sunk.k, [4, 5]);
  });
});
