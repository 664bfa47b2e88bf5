import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPlainData, NodeCache } from '@e3/core';
import { tempDir } from '../helpers/files.js';
import { entryMeta } from '../helpers/cache-project.js';

describe('node cache', () => {
  it('stores an entry once, loads it, and a second store of the same key keeps the first', () => {
    const cache = new NodeCache(tempDir());
    assert.equal(cache.load('k1'), undefined);
    assert.equal(cache.save(entryMeta('k1'), { mask: [{ mask: [1, 0] }] }), true);
    assert.equal(cache.save(entryMeta('k1'), { mask: [{ mask: [0, 1] }] }), false);
    assert.deepEqual(cache.load('k1')!.outputs, { mask: [{ mask: [1, 0] }] });
    assert.deepEqual(readdirSync(join(cache.dir, 'nodes')), ['k1'], 'no temporary directory is left');
  });

  it('gc removes half-written entries and entries unused for the given days, and lists the rest', () => {
    const cache = new NodeCache(tempDir());
    cache.save(entryMeta('old'), { mask: [] });
    cache.save(entryMeta('new'), { mask: [] });
    const longAgo = new Date(Date.now() - 40 * 86_400_000);
    utimesSync(join(cache.dir, 'nodes', 'old', 'meta.json'), longAgo, longAgo);
    // Half-written by a run killed two hours ago: e3's marker, no outputs yet.
    mkdirSync(join(cache.dir, 'nodes', '.tmp-x-123'));
    writeFileSync(join(cache.dir, 'nodes', '.tmp-x-123', 'e3-cache-entry'), '');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(join(cache.dir, 'nodes', '.tmp-x-123'), twoHoursAgo, twoHoursAgo);
    assert.deepEqual(cache.gc(30).sort(), ['.tmp-x-123', 'old']);
    assert.deepEqual(
      cache.list().map((e) => e.key),
      ['new'],
    );
    assert.ok(existsSync(join(cache.dir, 'nodes', 'new', 'outputs.json')));
    assert.deepEqual(cache.gc(0), ['new']);
  });

  it('only plain JSON data counts as cacheable', () => {
    assert.equal(isPlainData({ a: [1, 'x', null, { b: true }] }), true);
    assert.equal(isPlainData({ a: new Float32Array(2) }), false);
    assert.equal(isPlainData({ a: NaN }), false);
    assert.equal(isPlainData(new Map()), false);
  });
});
