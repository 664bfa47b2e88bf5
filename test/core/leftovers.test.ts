import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXPORT_MARKER, PARTIAL_MARKER, pidAlive, recoverLeftovers } from '@e3/core';
import { tempDir } from '../helpers/files.js';

describe('recoverLeftovers', () => {
  /** A directory as e3 leaves it: a partial holds its marker, an old version is an export. */
  const make = (dir: string, text: string) => {
    mkdirSync(dir);
    writeFileSync(join(dir, 'f'), text);
    writeFileSync(join(dir, PARTIAL_MARKER), '');
    writeFileSync(join(dir, EXPORT_MARKER), '{"keptLayers": [0]}');
  };

  it('puts back the version a killed replacement moved aside, and removes its partial directory', () => {
    const parent = tempDir();
    const target = join(parent, 'out');
    make(`${target}.old-999999`, 'previous');
    make(`${target}.partial-999999`, 'half');
    const r = recoverLeftovers(target);
    assert.equal(r.restored, `${target}.old-999999`);
    assert.deepEqual(r.removed, [`${target}.partial-999999`]);
    assert.equal(readFileSync(join(target, 'f'), 'utf8'), 'previous');
    assert.deepEqual(readdirSync(parent), ['out']);
  });

  it("removes an aside version when the target is in place; leaves live processes' work and other names alone", () => {
    const parent = tempDir();
    const target = join(parent, 'out');
    make(target, 'current');
    make(`${target}.old-999999`, 'previous');
    make(`${target}.partial-${process.pid}`, 'mine, in progress');
    make(`${target}-other.partial-999999`, 'another target');
    recoverLeftovers(target);
    assert.equal(readFileSync(join(target, 'f'), 'utf8'), 'current');
    assert.ok(!existsSync(`${target}.old-999999`));
    assert.ok(existsSync(`${target}.partial-${process.pid}`));
    assert.ok(existsSync(`${target}-other.partial-999999`));
  });

  it('pidAlive tells live processes from dead ones', () => {
    assert.equal(pidAlive(process.pid), true);
    assert.equal(pidAlive(999999), false);
    assert.equal(pidAlive(0), false);
  });

  it("leaves alone look-alikes that are not provably e3's", () => {
    const parent = tempDir();
    const target = join(parent, 'out');
    mkdirSync(`${target}.old-999999`);
    writeFileSync(join(`${target}.old-999999`, 'thesis.txt'), 'precious');
    mkdirSync(`${target}.partial-999999`);
    const r = recoverLeftovers(target);
    assert.deepEqual(r, { removed: [], restored: undefined });
    assert.deepEqual(readdirSync(parent).sort(), ['out.old-999999', 'out.partial-999999']);
  });
});
