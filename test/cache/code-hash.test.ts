import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  builtInCodeHash,
  packageCodeHash,
  pluginCodeHash,
  pluginPackageDir,
  writeCodeHash,
  FileHasher,
} from '@e3/core';
import { ROOT, writeFiles } from '../helpers/files.js';

describe("code hashes in node cache keys (e3's packages and external plugins)", () => {
  it("a package's build record is used while its files are as built, and ignored once they change", () => {
    const pkg = writeFiles({ 'package.json': '{}', 'dist/a.js': 'export const a = 1;\n', 'dist/a.d.ts': '' });
    const record = join(pkg, 'dist', 'code-hash.json');
    writeCodeHash(pkg);
    const built = JSON.parse(readFileSync(record, 'utf8'));
    assert.equal(packageCodeHash(pkg), built.sha256);
    // A planted hash is returned as it is: the files were not read while the signature matched.
    writeFileSync(record, JSON.stringify({ ...built, sha256: 'planted' }));
    assert.equal(packageCodeHash(pkg), 'planted');
    // Rebuilt without the record (plain tsc): the signature differs and the files decide.
    writeFileSync(join(pkg, 'dist', 'a.js'), 'export const a = 22;\n');
    const now = packageCodeHash(pkg);
    assert.ok(now !== 'planted' && now !== built.sha256);
    writeFileSync(join(pkg, 'dist', 'a.d.ts'), 'export declare const a: number;\n');
    assert.equal(packageCodeHash(pkg), now, 'declarations do not run: they do not count');
  });

  it("e3's own hash is the build's, and an external plugin is hashed as its package folder", () => {
    assert.match(builtInCodeHash(), /^[0-9a-f]{64}$/);
    const pkg = writeFiles({
      'package.json': '{}',
      'src/p.mjs': 'export {};\n',
      'src/util.mjs': 'export const u = 1;\n',
    });
    assert.equal(pluginPackageDir(join(pkg, 'src', 'p.mjs')), pkg);
    assert.equal(pluginPackageDir(join(ROOT, 'examples', 'dist', 'stats-plugin.js')), join(ROOT, 'examples', 'dist'));
    const hasher = new FileHasher();
    const before = pluginCodeHash(join(pkg, 'src', 'p.mjs'), hasher);
    writeFileSync(join(pkg, 'notes.txt'), 'not code\n');
    assert.equal(pluginCodeHash(join(pkg, 'src', 'p.mjs'), hasher), before, 'a text file is not code');
    writeFileSync(join(pkg, 'src', 'util.mjs'), 'export const u = 2;\n');
    assert.notEqual(pluginCodeHash(join(pkg, 'src', 'p.mjs'), new FileHasher()), before);
  });
});
