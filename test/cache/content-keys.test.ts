import { strict as assert } from 'node:assert';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, writeFiles } from '../helpers/files.js';
import { cachedRun, entryOutputs, rewriteInPlace, teacherProject, wholeSecondTimes } from '../helpers/cache-project.js';

/** Other weights of the same shapes: 1000 floats of the first tensor set to `value`, in place. */
function otherWeights(project: string, value: number): void {
  const file = join(project, 'models', 'arith-teacher', 'model.safetensors');
  const data = readFileSync(file);
  const start = 8 + Number(data.readBigUInt64LE(0));
  const floats = Buffer.alloc(4000);
  for (let i = 0; i < 1000; i++) floats.writeFloatLE(value, 4 * i);
  rewriteInPlace(file, start, floats);
}

/** A deterministic plugin in its own folder whose emitted value comes from a sibling module. */
function constantPlugin(answer: number): string {
  return writeFiles({
    'answer.mjs': `export const ANSWER = ${answer};\n`,
    'plugin.mjs': [
      "import { injectable } from 'inversify';",
      "import { of } from 'rxjs';",
      "import { ANSWER } from './answer.mjs';",
      'class Constant { connect() { return { value: of({ answer: ANSWER }) }; } }',
      'injectable()(Constant);',
      "const params = { type: 'object', additionalProperties: false, properties: {} };",
      "const outputs = { value: { type: 'any' } };",
      "export const plugins = [{ key: 'user.constant', doc: 'a constant', inputs: {}, outputs, params,",
      '  deterministic: true, node: Constant }];',
    ].join('\n'),
    'g.yaml': 'apiVersion: e3/v1\nplugins: [./plugin.mjs]\nnodes:\n  c: { plugin: user.constant }\n',
  });
}

describe('node cache keys cover what params point to and the code (through the CLI)', function () {
  this.timeout(300000);

  it('other weights at the same checkpoint path are never served the cached mask', () => {
    const cache = join(tempDir(), 'cache');
    const a = teacherProject();
    const first = cachedRun(a, cache);
    assert.equal(first.code, 0, first.stderr);
    assert.ok(first.cache.stored.mask, 'the first run stores its mask');
    const again = cachedRun(a, cache);
    assert.equal(again.cache.reused.mask, first.cache.stored.mask, 'the same project reuses it');

    // Another project: the same graph, the same path, other weights (same size, same mtime).
    const b = tempDir('e3-cache-project-');
    cpSync(a, b, { recursive: true });
    wholeSecondTimes(join(b, 'models', 'arith-teacher', 'model.safetensors'));
    otherWeights(b, 0.5);
    const other = cachedRun(b, cache);
    assert.equal(other.code, 0, other.stderr);
    assert.deepEqual(other.cache.reused, {}, "another checkpoint's mask is not reused");
    assert.ok(other.cache.stored.mask && other.cache.stored.mask !== first.cache.stored.mask);
    assert.match(other.log, /mask: blockInfluence: removes layers/, 'the mask was computed');

    // The first project's weights overwritten in place with yet others, mtime restored: recomputed too.
    otherWeights(a, 0.25);
    const overwritten = cachedRun(a, cache);
    assert.deepEqual(overwritten.cache.reused, {});
    const keys = new Set([first.cache.stored.mask, other.cache.stored.mask, overwritten.cache.stored.mask]);
    assert.equal(keys.size, 3, 'three contents, three entries');
    assert.match(overwritten.log, /mask: blockInfluence: removes layers/);

    // Content equal to b's again: b's entry serves it (the key is the content, not the path).
    otherWeights(a, 0.5);
    assert.equal(cachedRun(a, cache).cache.reused.mask, other.cache.stored.mask);
  });

  it('a data file rewritten in place gives a new key', () => {
    const records = Array.from({ length: 40 }, (_, i) => ({
      prompt: `${i % 9}+${i % 7}=`,
      answer: `${(i % 9) + (i % 7)}`,
    }));
    const dir = teacherProject('{ plugin: data.jsonl, params: { path: d.jsonl, heldoutFraction: 0.1 } }');
    const data = join(dir, 'd.jsonl');
    writeFileSync(data, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    wholeSecondTimes(data);
    const cache = join(tempDir(), 'cache');
    const first = cachedRun(dir, cache);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(cachedRun(dir, cache).cache.reused.mask, first.cache.stored.mask);
    rewriteInPlace(data, readFileSync(data, 'utf8').indexOf('"answer":"0"') + 10, Buffer.from('9'));
    const changed = cachedRun(dir, cache);
    assert.equal(changed.code, 0, changed.stderr);
    assert.deepEqual(changed.cache.reused, {});
    assert.ok(changed.cache.stored.mask && changed.cache.stored.mask !== first.cache.stored.mask);
  });

  it("a change to an external plugin's code (a module it imports) gives a new key and a new value", () => {
    const dir = constantPlugin(41);
    const cache = join(tempDir(), 'cache');
    const first = cachedRun(dir, cache);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(entryOutputs(cache, first.cache.stored.c), { value: [{ answer: 41 }] });
    assert.equal(cachedRun(dir, cache).cache.reused.c, first.cache.stored.c, 'unchanged code: reused');
    writeFileSync(join(dir, 'answer.mjs'), 'export const ANSWER = 42;\n');
    const changed = cachedRun(dir, cache);
    assert.equal(changed.code, 0, changed.stderr);
    assert.deepEqual(changed.cache.reused, {}, 'the old value is not served');
    assert.deepEqual(entryOutputs(cache, changed.cache.stored.c), { value: [{ answer: 42 }] });
  });
});
