import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/files.js';

const run = promisify(execFile);

/** Every YAML graph under graphs/, ablations and baselines included (sweep files aside: test/sweep checks them). */
function shippedGraphs(dir = join(ROOT, 'graphs')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = join(dir, e.name);
    if (e.isDirectory()) return shippedGraphs(file);
    return /\.ya?ml$/.test(e.name) && !isSweepFile(file) ? [relative(ROOT, file)] : [];
  });
}

/** A sweep file (`kind: Sweep`), not a graph. */
function isSweepFile(file: string): boolean {
  return /^kind:\s*Sweep\s*$/m.test(readFileSync(file, 'utf8'));
}

describe('shipped graphs', function () {
  this.timeout(180000);

  it('every graph under graphs/ passes e3 validate', async () => {
    const graphs = shippedGraphs();
    assert.ok(graphs.length >= 20 && graphs.some((g) => g.startsWith('graphs/baselines/')), graphs.join(', '));
    const failures: string[] = [];
    const queue = [...graphs];
    const worker = async () => {
      for (let g = queue.shift(); g; g = queue.shift()) {
        try {
          const { stdout } = await run(process.execPath, [join(ROOT, 'bin', 'e3.js'), 'validate', g], { cwd: ROOT });
          if (!stdout.startsWith(`${g}: ok`)) failures.push(`${g}: ${stdout}`);
        } catch (e) {
          failures.push(`${g}: ${(e as { stderr?: string }).stderr ?? String(e)}`);
        }
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    assert.deepEqual(failures, []);
  });

  it('file names are kebab-case', () => {
    const bad = shippedGraphs().filter((g) => !/^[a-z0-9-]+\.yaml$/.test(g.split('/').pop()!));
    assert.deepEqual(bad, []);
  });
});
