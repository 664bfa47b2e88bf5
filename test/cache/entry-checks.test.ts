import { strict as assert } from 'node:assert';
import { existsSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { e3, tempDir } from '../helpers/files.js';
import { cachedRun, entryOutputs, teacherProject } from '../helpers/cache-project.js';

describe('node cache entries are checked before use (through the CLI)', function () {
  this.timeout(300000);

  it('a tampered, truncated, swapped or unreadable entry is reported, recomputed and rewritten, never used', () => {
    const project = teacherProject();
    const cache = join(tempDir(), 'cache');
    const seed0 = cachedRun(project, cache);
    const seed1 = cachedRun(project, cache, ['--seed', '1']);
    assert.equal(seed0.code, 0, seed0.stderr);
    const [k0, k1] = [seed0.cache.stored.mask, seed1.cache.stored.mask];
    assert.ok(k0 && k1 && k0 !== k1);
    const entry = (k: string) => join(cache, 'nodes', k);
    /** The layers entry `k` keeps (its outputs also record timings, which differ between runs). */
    const kept = (k: string) => (entryOutputs(cache, k).mask[0] as { mask: number[] }).mask;
    const good = kept(k0);
    /** Runs seed 0 again: the damage is named, the mask computed and the entry rewritten as it was. */
    const repaired = (damage: RegExp) => {
      const r = cachedRun(project, cache);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.cache.reused, {}, 'the damaged entry is not used');
      assert.equal(r.cache.stored.mask, k0, 'it is rewritten');
      assert.match(r.cache.damaged.mask, damage);
      assert.match(r.stderr, new RegExp(`node mask: cache entry .*${k0} is damaged \\(${damage.source}`));
      assert.match(r.log, /mask: blockInfluence: removes layers/, 'the mask was computed');
      assert.deepEqual(kept(k0), good);
    };

    // Swapped: seed 0's directory holds seed 1's search and the other way round.
    renameSync(entry(k0), join(cache, 'nodes', 'swap'));
    renameSync(entry(k1), entry(k0));
    renameSync(join(cache, 'nodes', 'swap'), entry(k1));
    repaired(new RegExp(`it holds the entry of key ${k1} \\(meta\\.json\\), not of ${k0}`));

    // Tampered: a mask that keeps every layer.
    const outputs = join(entry(k0), 'outputs.json');
    const text = readFileSync(outputs, 'utf8');
    writeFileSync(outputs, text.replace(/"mask":\[[01,]+\]/, '"mask":[1,1,1,1,1,1,1,1]'));
    assert.notEqual(readFileSync(outputs, 'utf8'), text);
    repaired(/outputs\.json differs from what was stored/);

    // Truncated.
    truncateSync(outputs, 20);
    repaired(/outputs\.json differs from what was stored/);

    // meta.json of {}: listed as damaged (no crash), recomputed, then gc removes such an entry.
    writeFileSync(join(entry(k0), 'meta.json'), '{}');
    const ls = e3(['cache', 'ls', cache]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, new RegExp(`${k0}  damaged: meta\\.json lacks key, plugin, node`));
    repaired(/meta\.json lacks key/);
    writeFileSync(join(entry(k1), 'meta.json'), '{"key": 3');
    const gc = e3(['cache', 'gc', cache]);
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stdout, /removed 1 entry/);
    assert.ok(!existsSync(entry(k1)) && existsSync(entry(k0)), 'only the damaged entry went');
  });
});
