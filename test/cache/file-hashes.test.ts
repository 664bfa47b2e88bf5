import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileHasher } from '@e3/core';
import { tempDir } from '../helpers/files.js';
import { rewriteInPlace, wholeSecondTimes } from '../helpers/cache-project.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('file content hashes for node cache keys', () => {
  it('are sha256 of the bytes, memoised by stamp: a known file is not read again, a rewritten one is', async () => {
    const dir = tempDir();
    const file = join(dir, 'w.bin');
    const memo = join(dir, 'file-hashes.json');
    writeFileSync(file, 'abcdef');
    wholeSecondTimes(file);
    // Just changed: hashed, but not memoised (a write within the same time tick would go unseen).
    const racy = new FileHasher(memo);
    assert.equal(racy.file(file), sha256('abcdef'));
    racy.save();
    assert.ok(!existsSync(memo));
    await new Promise((r) => setTimeout(r, 100));
    const first = new FileHasher(memo);
    assert.equal(first.file(file), sha256('abcdef'));
    first.save();
    // A planted hash in the memo is what a second process gets: the file was not read again.
    writeFileSync(memo, readFileSync(memo, 'utf8').replace(sha256('abcdef'), 'f'.repeat(64)));
    assert.equal(new FileHasher(memo).file(file), 'f'.repeat(64));
    // Rewritten in place, same size, inode and mtime: the ctime differs, so it is read again.
    rewriteInPlace(file, 0, Buffer.from('x'));
    assert.equal(new FileHasher(memo).file(file), sha256('xbcdef'));
  });

  it('hash a directory as the sorted list of its files (dot entries skipped)', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'b.json'), '{}');
    writeFileSync(join(dir, 'a.txt'), 'a');
    writeFileSync(join(dir, '.hidden'), 'h');
    const listing = new FileHasher().dir(dir);
    assert.deepEqual(listing, { 'a.txt': sha256('a'), 'b.json': sha256('{}') });
    const old = new Date(2000, 0, 1);
    utimesSync(join(dir, 'a.txt'), old, old);
    assert.deepEqual(new FileHasher().dir(dir), listing, 'an mtime alone does not change a hash');
  });
});
