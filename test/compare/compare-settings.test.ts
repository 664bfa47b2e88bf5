import { strict as assert } from 'node:assert';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { e3, tempDir } from '../helpers/files.js';

/** The resolved graph of a pruning run, cut to what tells runs apart here. */
function resolved(pruneRatio: number, seed: number, dir: string, note = 'x'): Record<string, unknown> {
  return {
    apiVersion: 'e3/v1',
    seed,
    vars: { ratio: pruneRatio },
    backend: { name: 'auto', threads: 2 },
    nodes: {
      search: { plugin: 'masker.search', params: { pruneRatio, steps: 60, note } },
      export: { plugin: 'exporter.hf', params: { dir: `${dir}/pruned` } },
    },
  };
}

/**
 * A run directory as e3 run writes it (run.json, resolved.yaml with its own path bound, and
 * report.json with `accuracy`; `report` replaces report.json's text).
 */
function runDir(
  root: string,
  name: string,
  o: { pruneRatio: number; seed: number; accuracy?: unknown; status?: string; report?: string; note?: string },
): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const run = {
    status: o.status ?? 'succeeded',
    seed: o.seed,
    dir,
    backend: 'wasm',
    wallSeconds: 2,
    versions: { e3: '0' },
  };
  writeFileSync(join(dir, 'run.json'), JSON.stringify(run));
  writeFileSync(join(dir, 'resolved.yaml'), stringify(resolved(o.pruneRatio, o.seed, dir, o.note)));
  writeFileSync(
    join(dir, 'report.json'),
    o.report ??
      JSON.stringify({
        metrics: [
          {
            name: 'exactMatch',
            heading: 'exact match',
            unit: 'fraction',
            direction: 'higher',
            n: 4,
            value: 'accuracy' in o ? o.accuracy : 0.5,
          },
        ],
      }),
  );
  return dir;
}

/** The results table's body rows (the first table), cells trimmed. */
const rows = (stdout: string) =>
  stdout
    .split('\n\n')[0]
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| #'))
    .map((l) => l.slice(2, -2).split(' | '));

describe('e3 compare: one row per resolved setting, seeds only as replicates', function () {
  this.timeout(120000);

  it('runs that differ in a setting (25% and 50% pruning, both seed 0) are two rows, labelled by the key', () => {
    const root = tempDir();
    const quick = runDir(root, 'quickstart', { pruneRatio: 0.25, seed: 0, accuracy: 0.25 });
    const full = runDir(root, 'e3-pruner', { pruneRatio: 0.5, seed: 0, accuracy: 0.05 });
    const r = e3(['compare', quick, full]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\| # \| nodes\.search\.params\.pruneRatio \| seeds \| exact match ↑ \|/);
    assert.deepEqual(rows(r.stdout), [
      ['1', '0.25', '1 of 1', '0.250'],
      ['2', '0.5', '1 of 1', '0.050'],
    ]);
    assert.doesNotMatch(r.stdout, /±/, 'nothing averaged across settings');
  });

  it('seeds of one setting are replicates; failed seeds and null or corrupt metrics are reported, not hidden', () => {
    const root = tempDir();
    const dirs = [
      runDir(root, 's0', { pruneRatio: 0.25, seed: 0, accuracy: 0.25 }),
      runDir(root, 's1', { pruneRatio: 0.25, seed: 1, accuracy: 0.75 }),
      runDir(root, 's2', { pruneRatio: 0.25, seed: 2, status: 'failed' }),
      runDir(root, 's3', { pruneRatio: 0.25, seed: 3, accuracy: null }),
    ];
    const r = e3(['compare', ...dirs]);
    assert.equal(r.code, 0, r.stderr);
    // mean of 0.25 and 0.75 is 0.5; sample std sqrt(((0.25)^2 + (0.25)^2) / 1) = 0.354
    assert.deepEqual(rows(r.stdout), [['1', '3 of 4', '0.500 ± 0.354 (n=2)']]);
    assert.match(r.stdout, /row 1: n = 3 of 4; missing seed 2 failed \(.*s2\)/);
    assert.match(r.stdout, /Timing \(noisy.*\n\n\| # \| seeds \| wall s ↓ \|\n.*\n\| 1 \| 3 of 4 \| 2\.0 ± 0\.0 \|/);
  });

  it('a report.json that does not match the run-report schema is a located error naming the field, with the fix', () => {
    const root = tempDir();
    const good = runDir(root, 'good', { pruneRatio: 0.25, seed: 0 });
    for (const [report, field] of [
      ['null', /report\.json: value must be object/],
      ['{"model": {"layers": 2}}', /report\.json: missing required field "metrics"/],
      [
        '{"metrics": [{"name": "x", "unit": "", "direction": "up", "n": 1, "value": 1}]}',
        /field "metrics\.0\.direction": .* must be one of "higher", "lower"/,
      ],
      [
        JSON.stringify({ metrics: [0, 1].map(() => ({ name: 'x', unit: '', direction: 'lower', n: 1, value: 1 })) }),
        /field "metrics\.1\.name": "x" is declared twice \(also metrics\.0\)/,
      ],
    ] as const) {
      const bad = runDir(tempDir(), 'bad', { pruneRatio: 0.25, seed: 1, report });
      const r = e3(['compare', good, bad]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, field);
      assert.match(r.stderr, /fix: the evaluator writes report\.json \(schemas\/run-report\.schema\.json\)/);
      assert.equal(r.stdout, '', 'no table from a half-read comparison');
    }
  });

  it('refuses a run given twice, or a copy of one, as two seeds', () => {
    const root = tempDir();
    const a = runDir(root, 'a', { pruneRatio: 0.25, seed: 0 });
    cpSync(a, join(root, 'copy'), { recursive: true });
    for (const args of [
      [a, a],
      [a, join(root, 'copy')],
    ]) {
      const r = e3(['compare', ...args]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /ran the same settings with the same seed 0: one would count twice as a replicate/);
    }
  });

  it('compare.html escapes the settings and notes', () => {
    const root = tempDir();
    const payload = '<img src=x onerror=window.__pwned=1>';
    const a = runDir(root, 'a', { pruneRatio: 0.25, seed: 0, note: payload });
    const b = runDir(root, 'b', { pruneRatio: 0.25, seed: 0, note: 'plain' });
    const out = tempDir();
    const r = e3(['compare', a, b, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\| # \| nodes\.search\.params\.note \|/);
    const html = readFileSync(join(out, 'compare.html'), 'utf8');
    assert.doesNotMatch(html, /<img/);
    assert.ok(html.includes('&lt;img src=x onerror=window.__pwned=1&gt;'));
  });
});
