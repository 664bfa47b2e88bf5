import { strict as assert } from 'node:assert';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { e3, ROOT, tempDir, writeFiles } from '../helpers/files.js';

/** The example stats graph (seconds per run), its plugin named by absolute path so that it can be copied. */
const STATS = readFileSync(join(ROOT, 'examples/stats.yaml'), 'utf8').replace(
  './dist/stats-plugin.js',
  join(ROOT, 'examples/dist/stats-plugin.js'),
);

/** A directory with g.yaml (the stats graph) and s.yaml (a sweep over it with `body`). */
function sweepFiles(body: string): string {
  return writeFiles({ 'g.yaml': STATS, 's.yaml': `apiVersion: e3/v1\nkind: Sweep\ngraph: g.yaml\n${body}` });
}

const GRID = 'grid:\n  nodes.numbers.params.start: [1, 2]\nseeds: [0]\n';

describe('sweeps bound to their content (through e3 sweep and e3 compare)', function () {
  this.timeout(300000);

  it('continuing after the graph changed refuses, naming the points and the key; --force-new starts DIR-2', () => {
    const dir = sweepFiles(GRID);
    const out = join(tempDir(), 'sweep');
    const first = e3(['sweep', join(dir, 's.yaml'), '--out', out]);
    assert.equal(first.code, 0, first.stderr);
    rmSync(join(out, 'runs', 'start=2,seed=0'), { recursive: true });
    writeFileSync(join(dir, 'g.yaml'), STATS.replace('count: "${vars.n}"', 'count: 7'));
    const again = e3(['sweep', join(dir, 's.yaml'), '--out', out]);
    assert.equal(again.code, 1, again.stderr);
    assert.match(
      again.stderr,
      /holds this sweep, but what 2 of its 2 points run has changed since it started .*: start=1,seed=0, start=2,seed=0; start=1,seed=0: nodes\.numbers\.params\.count: 10 → 7\. Continuing would mix two experiments .*--force-new/,
    );
    assert.ok(!existsSync(join(out, 'runs', 'start=2,seed=0')), 'nothing ran');

    const fresh = e3(['sweep', join(dir, 's.yaml'), '--out', out, '--force-new']);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.equal(fresh.stdout.trim(), `${out}-2`);
    assert.match(fresh.stderr, /--force-new: .*sweep is left as it is; this sweep goes to .*sweep-2/);
    const cont = e3(['sweep', join(dir, 's.yaml'), '--out', out, '--force-new']);
    assert.equal(cont.stdout.trim(), `${out}-2`, 'a rerun continues the new directory');
    assert.match(cont.stderr, /2 already succeeded/);

    const cmp = e3(['compare', out, `${out}-2`]);
    assert.equal(cmp.code, 0, cmp.stderr);
    const lines = cmp.stdout.trim().split('\n');
    assert.match(lines[0], /^\| # \| nodes\.numbers\.params\.start \| nodes\.numbers\.params\.count \| seeds \|/);
    assert.deepEqual(lines.slice(2, 5), [
      '| 1 | 1 | 10 | 1 of 1 |',
      '| 2 | 2 | — | 0 of 1 |',
      '| 3 | 1 | 7 | 1 of 1 |',
    ]);
    assert.match(cmp.stdout, /row 2: n = 0 of 1; missing seed 0 pending/);
  });

  it('points that resolve to one graph are refused before anything runs', () => {
    const cases: [string, RegExp][] = [
      [
        'grid:\n  nodes.numbers.params.start: [1, 2, 1]\n',
        /s\.yaml:5:\d+: field "grid\.nodes\.numbers\.params\.start\.2": grid value 1 is listed twice/,
      ],
      [
        'overlays:\n  - { name: a }\n  - { name: a, set: { nodes.numbers.params.step: 2 } }\n',
        /s\.yaml:6:13: field "overlays\.1\.name": overlay name "a" is used by overlays 0 and 1/,
      ],
      [
        'overlays:\n  - { name: a, set: { nodes.numbers.params.step: 2 } }\n' +
          '  - { name: b, set: { nodes.numbers.params.step: 2 } }\n',
        /points overlay=a,seed=0, overlay=b,seed=0 resolve to the same graph and seed/,
      ],
      [
        'grid:\n  vars.nn: [10, 20]\n',
        /s\.yaml:5:3: field "grid\.vars\.nn": grid key vars\.nn changes nothing: every value gives the same resolved graph \(10, 20\) \(fix: no \$\{vars\.nn\} appears in the graph, so its value is never used: did you mean vars\.n\?\)/,
      ],
      [
        'grid:\n  nodes.numbers.params.step: [1]\n  nodes.numbers.params.start: [1, 2]\noverlays:\n  - { name: a }\n' +
          '  - { name: b, set: { nodes.numbers.params.step: 1 } }\n',
        /points overlay=a,step=1,start=1,seed=0, overlay=b,step=1,start=1,seed=0 resolve to the same graph/,
      ],
    ];
    for (const [i, [body, message]] of cases.entries()) {
      const dir = sweepFiles(body);
      const out = join(dir, 'out');
      for (const args of i === 0 ? [['--dry-run'], ['--out', out]] : [['--dry-run']]) {
        const r = e3(['sweep', join(dir, 's.yaml'), ...args]);
        assert.equal(r.code, 1, `${body}: ${r.stderr}`);
        assert.match(r.stderr, message);
      }
      assert.ok(!existsSync(out), 'nothing written');
      if (i === 3) assert.match(e3(['validate', join(dir, 's.yaml')]).stderr, message, 'e3 validate says so too');
    }
  });

  it('--seeds out of range or repeated, and a --set on a grid or overlay key, are refused', () => {
    const dir = sweepFiles(`${GRID}overlays:\n  - { name: a, set: { nodes.numbers.params.step: 2 } }\n`);
    const file = join(dir, 's.yaml');
    const out = join(dir, 'out');
    const refusals: [string[], number, RegExp][] = [
      [['--seeds', '99999999999'], 2, /Seed 99999999999 is too large: seeds are integers from 0 to 4294967295/],
      [['--seeds', '0,1,0'], 2, /Seed 0 is given twice/],
      [['--seeds', '1.5'], 2, /comma-separated list of integers/],
      [
        ['--set', 'nodes.numbers.params.start=5'],
        1,
        /--set nodes\.numbers\.params\.start would be ignored: the grid sets nodes\.numbers\.params\.start in every point/,
      ],
      [
        ['--set', 'nodes.numbers.params.step=3'],
        1,
        /--set nodes\.numbers\.params\.step would be ignored: overlay "a" sets it again for its points/,
      ],
    ];
    for (const [i, [args, code, message]] of refusals.entries()) {
      for (const mode of i === 0 ? [['--dry-run'], ['--out', out]] : [['--dry-run']]) {
        const r = e3(['sweep', file, ...args, ...mode]);
        assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, message);
      }
    }
    assert.ok(!existsSync(out));
    const fixed = writeFiles({
      's.yaml': `apiVersion: e3/v1\nkind: Sweep\ngraph: ${join(dir, 'g.yaml')}\nset:\n  nodes.numbers.params.start: 3\n${GRID}`,
    });
    const r = e3(['sweep', join(fixed, 's.yaml'), '--dry-run']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /s\.yaml:5:3: field "set\.nodes\.numbers\.params\.start": this value is ignored: the grid sets/,
    );
  });

  it('a malformed sweep.json or run.json is a located error with a fix (sweep --status, sweep, compare)', () => {
    const dir = sweepFiles(GRID);
    const out = join(tempDir(), 'sweep');
    assert.equal(e3(['sweep', join(dir, 's.yaml'), '--out', out]).code, 0);
    const good = readFileSync(join(out, 'sweep.json'), 'utf8');
    const broken = (edit: (j: any) => void) => {
      const j = JSON.parse(good);
      edit(j);
      writeFileSync(join(out, 'sweep.json'), JSON.stringify(j));
    };
    const expectations: [(j: any) => void, RegExp][] = [
      [(j) => delete j.points[1].dir, /sweep\.json: field "points\.1": missing required field "dir"/],
      [
        (j) => (j.points[0].dir = '../../etc'),
        /sweep\.json: field "points\.0\.dir": "\.\.\/\.\.\/etc" is not inside the sweep directory/,
      ],
      [(j) => (j.points = null), /sweep\.json: field "points": .*must be array/],
    ];
    for (const [i, [edit, message]] of expectations.entries()) {
      broken(edit);
      const commands = [
        ['sweep', '--status', out],
        ['compare', out],
        ['sweep', join(dir, 's.yaml'), '--out', out],
      ];
      for (const args of i === 0 ? commands : commands.slice(0, 1)) {
        const r = e3(args);
        assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
        assert.match(r.stderr, message, args.join(' '));
        assert.match(r.stderr, /fix: e3 sweep writes this file/);
      }
    }
    writeFileSync(join(out, 'sweep.json'), good);
    const runJson = join(out, 'runs', 'start=1,seed=0', 'run.json');
    const run = JSON.parse(readFileSync(runJson, 'utf8'));
    const copy = join(tempDir(), 'copy');
    cpSync(out, copy, { recursive: true });
    writeFileSync(runJson, JSON.stringify({ ...run, wallSeconds: 'abc' }));
    for (const args of [
      ['sweep', '--status', out],
      ['compare', out],
      ['compare', join(out, 'runs', 'start=1,seed=0')],
    ]) {
      const r = e3(args);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /run\.json: field "wallSeconds": "wallSeconds" must be number \(fix: e3 writes run\.json; restore it, or delete the run directory/,
      );
    }
    writeFileSync(runJson, '{"status": ');
    assert.match(e3(['sweep', '--status', out]).stderr, /run\.json: not valid JSON/);
    writeFileSync(runJson, JSON.stringify(run));
    const twice = e3(['compare', out, copy]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /ran the same settings with the same seed 0: one would count twice as a replicate/);
  });
});
