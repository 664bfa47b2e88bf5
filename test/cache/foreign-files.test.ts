import { strict as assert } from 'node:assert';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { NodeCache } from '@e3/core';
import { e3, tempDir } from '../helpers/files.js';
import { entryMeta } from '../helpers/cache-project.js';

describe('e3 cache gc and ls touch only what e3 wrote (through the CLI)', () => {
  it("leaves a user's files under nodes/ and says so, with any --older-than", () => {
    const proj = tempDir();
    mkdirSync(join(proj, 'nodes', 'x'), { recursive: true });
    writeFileSync(join(proj, 'nodes', 'x', 'a.ts'), 'export {};\n');
    writeFileSync(join(proj, 'nodes', 'README.md'), '# mine\n');
    symlinkSync(join(proj, 'gone'), join(proj, 'nodes', 'link'));
    const ls = e3(['cache', 'ls', proj]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /0 entries, 0 bytes/);
    assert.match(
      ls.stdout,
      /3 foreign items in .*not written by e3 .*left alone: nodes\/README\.md, nodes\/link, nodes\/x/,
    );
    for (const age of ['30', '0']) {
      const gc = e3(['cache', 'gc', proj, '--older-than', age]);
      assert.equal(gc.code, 0, gc.stderr);
      assert.match(gc.stdout, /removed 0 entries/);
      assert.match(gc.stdout, /3 foreign items .*left alone: nodes\/README\.md, nodes\/link, nodes\/x/);
      assert.ok(existsSync(join(proj, 'nodes', 'x', 'a.ts')) && existsSync(join(proj, 'nodes', 'README.md')));
      assert.ok(lstatSync(join(proj, 'nodes', 'link')).isSymbolicLink());
    }
    const json = JSON.parse(e3(['cache', 'ls', proj, '--json']).stdout);
    assert.deepEqual(
      json.map((i: { status: string; name: string }) => `${i.status} ${i.name}`),
      ['foreign README.md', 'foreign link', 'foreign x'],
    );
  });

  it('refuses a directory whose nodes is a file, naming it (no internal error)', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'nodes'), 'mine\n');
    for (const cmd of ['ls', 'gc']) {
      const r = e3(['cache', cmd, dir]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /nodes is not a directory, so .* is not a node cache \(fix:/);
    }
    assert.equal(readFileSync(join(dir, 'nodes'), 'utf8'), 'mine\n');
  });

  it('still cleans a half-written e3 entry, and names an older e3 entry (no marker) without deleting it', () => {
    const dir = tempDir();
    const cache = new NodeCache(dir);
    cache.save(entryMeta('0123456789abcdef'), { mask: [{ mask: [1, 0] }] });
    cache.save(entryMeta('fedcba9876543210'), { mask: [{ mask: [0, 1] }] });
    const nodes = join(dir, 'nodes');
    // Half-written: the marker and part of the files, its writer long gone.
    cpSync(join(nodes, '0123456789abcdef'), join(nodes, '.tmp-0123456789abcdef-4194999'), { recursive: true });
    const hourAgo = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(join(nodes, '.tmp-0123456789abcdef-4194999'), hourAgo, hourAgo);
    // An entry as an older e3 wrote it: meta.json and outputs.json, no marker.
    mkdirSync(join(nodes, 'aaaaaaaaaaaaaaaa'));
    writeFileSync(join(nodes, 'aaaaaaaaaaaaaaaa', 'meta.json'), JSON.stringify(entryMeta('aaaaaaaaaaaaaaaa')));
    writeFileSync(join(nodes, 'aaaaaaaaaaaaaaaa', 'outputs.json'), '{"mask":[]}');
    const ls = e3(['cache', 'ls', dir]);
    assert.match(ls.stdout, /\.tmp-0123456789abcdef-4194999 {2}half-written by e3/);
    assert.match(ls.stdout, /2 entries, \d+ bytes/);
    assert.match(ls.stdout, /nodes\/aaaaaaaaaaaaaaaa \(an older e3 entry\?\).*remove entries of an older e3 by hand/);
    const gc = e3(['cache', 'gc', dir]);
    assert.match(gc.stdout, /removed 1 entry/);
    assert.ok(!existsSync(join(nodes, '.tmp-0123456789abcdef-4194999')));
    assert.ok(existsSync(join(nodes, 'aaaaaaaaaaaaaaaa', 'outputs.json')));
    assert.equal(cache.list().length, 2, 'whole entries younger than 30 days stay');
  });
});
