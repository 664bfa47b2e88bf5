import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { writeFiles } from '../helpers/files.js';
import { reducedQuickstart } from '../helpers/quickstart.js';

/** Two broken loss terms: one NaN from the first step, one that forgets to reduce its per-token values. */
const BAD_LOSSES = `import 'reflect-metadata';
import { injectable } from 'inversify';
import type { ComponentManifest } from '@e3/core';

/** The tensor methods the terms use (chained ops of TensorFlow.js). */
type T = { sum(): T; mul(n: number): T; div(n: number): T };
type Inputs = { tokenWeights: T };

@injectable()
class NanLoss {
  readonly name = 'nanTerm';
  readonly weight = 1;
  readonly requires = [];
  compute(x: Inputs) {
    return x.tokenWeights.sum().mul(0).div(0); // 0/0
  }
}

@injectable()
class PerTokenLoss {
  readonly name = 'perToken';
  readonly weight = 1;
  readonly requires = [];
  compute(x: Inputs) {
    return x.tokenWeights.mul(1);
  }
}

const params = { type: 'object', properties: {} };
export const components: ComponentManifest[] = [
  { key: 'test.nan', kind: 'loss', doc: 'NaN', params, requires: [], component: NanLoss },
  { key: 'test.perToken', kind: 'loss', doc: 'not reduced', params, requires: [], component: PerTokenLoss },
];
`;

describe('loss terms that go wrong name themselves', function () {
  this.timeout(600000);
  const dir = writeFiles({ 'bad-losses.mts': BAD_LOSSES });
  const run = (term: string) =>
    reducedQuickstart(join(dir, term), [
      '--plugin',
      join(dir, 'bad-losses.mts'),
      '--set',
      'nodes.search.params.steps=2',
      '--set',
      `nodes.distill.params.loss=[{component: loss.forwardKl}, {component: ${term}}]`,
      '--quiet',
    ]);

  it('a NaN term is named, with the finite ones, and not blamed on the learning rate', () => {
    const r = run('test.nan');
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /non-finite loss \(NaN\) at step 0 \(batch 0\): term "nanTerm" is NaN \(forwardKl \d\.\d+ finite\); the term's computation, not the learning rate/,
    );
    assert.doesNotMatch(r.stderr, /lower lr/);
  });

  it('a term that returns per-token values is named, with its shape and the fix', () => {
    const r = run('test.perToken');
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /loss term "perToken" returned a tensor of shape \[\d+, \d+\], not a scalar \(fix: reduce its per-token values to one number, e\.g\. weightedMean/,
    );
  });
});
