import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { e3, ROOT, writeFiles } from '../helpers/files.js';

/** A reducer component whose code has a bug on line 10 (column 18 is `named`). */
const BAD_REDUCER = `import 'reflect-metadata';
import { injectable } from 'inversify';
import type { ComponentManifest } from '@e3/core';

@injectable()
class BadReducer {
  readonly name = 'bad';
  reduce(v: readonly number[]): number {
    const model = v as unknown as { named(): number };
    return model.named();
  }
}

export const components: ComponentManifest[] = [
  { key: 'reducer.bad', kind: 'reducer', doc: 'a bug', params: { type: 'object', properties: {} }, component: BadReducer },
];
`;

describe('errors in plugin code', function () {
  this.timeout(120000);

  it("point at the plugin's file:line, with its stack first under --debug, and go to run.log", () => {
    const stats = join(ROOT, 'examples', 'dist', 'stats-plugin.js');
    const dir = writeFiles({
      'bad-reducer.mts': BAD_REDUCER,
      'g.yaml':
        `apiVersion: e3/v1\nplugins: [${stats}, ./bad-reducer.mts]\nnodes:\n` +
        '  numbers: { plugin: example.sequence, params: { start: 1, count: 3 } }\n' +
        '  mean: { plugin: example.summary, params: { reducer: { component: reducer.bad } }, ' +
        'in: { values: numbers.values } }\n',
    });
    const at = `${join(dir, 'bad-reducer.mts')}:10:18`;
    const run = join(dir, 'run');
    const r = e3(['run', join(dir, 'g.yaml'), '--out', run, '--quiet']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `e3: node "mean" failed: model.named is not a function (at ${at})\n`);
    assert.match(
      readFileSync(join(run, 'run.log'), 'utf8'),
      new RegExp(`\\[error\\] e3: node "mean" failed: .*\\n.*TypeError`),
    );
    assert.equal(JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')).status, 'failed');

    const d = e3(['run', join(dir, 'g.yaml'), '--out', join(dir, 'run2'), '--quiet', '--debug']);
    const lines = d.stderr.split('\n');
    assert.equal(lines[1], 'TypeError: model.named is not a function');
    assert.ok(lines[2].includes(at), lines.slice(0, 4).join('\n'));
  });
});
