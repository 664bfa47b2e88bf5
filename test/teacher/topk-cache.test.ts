import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { tempDir } from '../helpers/files.js';
import { runGraph, teacherGraph } from '../helpers/graphs.js';

const DATA = '{ plugin: data.arithmetic, params: { maxOperand: 9 } }';

/** Every targets file under the cache directory, with its size. */
function targetFiles(cache: string): { path: string; size: number }[] {
  const files = readdirSync(cache).flatMap((fp) => readdirSync(join(cache, fp)).map((name) => join(cache, fp, name)));
  return files.map((path) => ({ path, size: statSync(path).size }));
}

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('teacher.topkCache files', function () {
  this.timeout(120000);

  it('two runs leave no empty targets file; the second run writes no file at all', () => {
    const cache = join(tempDir(), 'cache');
    const first = runGraph(teacherGraph(DATA, cache));
    assert.equal(first.code, 0, first.stderr);
    const after1 = targetFiles(cache);
    assert.equal(after1.length, 1);
    assert.ok(after1[0].size > 0);
    const second = runGraph(teacherGraph(DATA, cache));
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.log, /0 computed now/);
    assert.deepEqual(targetFiles(cache), after1);
  });

  it('removes empty files of exited local processes, keeps those of live ones and of other hosts', () => {
    const cache = join(tempDir(), 'cache');
    assert.equal(runGraph(teacherGraph(DATA, cache)).code, 0);
    const folder = join(cache, readdirSync(cache)[0]);
    const host = hostname().replace(/[^A-Za-z0-9.]/g, '_');
    const dead = [`targets-${host}-${deadPid()}-1-1.bin`, `targets-${deadPid()}-1-1.bin`];
    const alive = [`targets-${host}-${process.pid}-1-1.bin`, `targets-elsewhere.example-${deadPid()}-1-1.bin`];
    for (const f of [...dead, ...alive]) writeFileSync(join(folder, f), '');
    mkdirSync(join(folder, 'unrelated'));
    const r = runGraph(teacherGraph(DATA, cache));
    assert.equal(r.code, 0, r.stderr);
    const names = readdirSync(folder);
    for (const f of dead) assert.ok(!names.includes(f), `${f} should be removed`);
    for (const f of alive) assert.ok(names.includes(f), `${f} should be kept`);
  });
});
