import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalFsStorage } from '@e3/cli';
import { tempDir, writeFiles } from '../helpers/files.js';

describe('sweep storage (local file system)', () => {
  it('uploads a run directory under a prefix, replacing what was there, and downloads it', async () => {
    const storage = new LocalFsStorage(tempDir());
    await storage.upload(writeFiles({ 'run.json': '1', 'old.txt': 'x' }), 'runs/p');
    await storage.upload(writeFiles({ 'run.json': '2', 'ckpt/a': 'y' }), 'runs/p');
    assert.equal(readFileSync(join(storage.root, 'runs/p/run.json'), 'utf8'), '2');
    assert.ok(!existsSync(join(storage.root, 'runs/p/old.txt')), 'an upload replaces the earlier one');
    const local = join(tempDir(), 'p');
    assert.equal(await storage.download('runs/p', local), true);
    assert.equal(readFileSync(join(local, 'ckpt/a'), 'utf8'), 'y');
    assert.equal(await storage.download('runs/none', join(tempDir(), 'q')), false);
    assert.equal(storage.url, `file://${storage.root}`);
  });
});
