import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { GraphError, RUN_REPORT_SCHEMA, type DeclaredMetric, type RunReport } from '@e3/core';
import { writeReport } from '@e3/plugins';
import { e3, ROOT, tempDir } from '../helpers/files.js';

const metric = (o: Partial<DeclaredMetric> = {}): DeclaredMetric => ({
  name: 'exactMatch',
  unit: 'fraction',
  direction: 'higher',
  n: 300,
  value: 0.5,
  ...o,
});

/** writeReport's writes, by file name. */
function written(report: RunReport): Record<string, string> {
  const files: Record<string, string> = {};
  writeReport({ json: report, markdown: '# r\n', files: { 'report.html': '<p>' } }, (name, text) => {
    files[name] = text;
  });
  return files;
}

describe('report.json against schemas/run-report.schema.json', () => {
  it('the schema file on disk is the one e3 checks with, and it accepts a declared metric', () => {
    const onDisk = JSON.parse(readFileSync(join(ROOT, 'schemas', 'run-report.schema.json'), 'utf8'));
    assert.deepEqual(onDisk, JSON.parse(JSON.stringify(RUN_REPORT_SCHEMA)));
    const validate = new Ajv({ strict: false }).compile(onDisk);
    assert.equal(validate({ metrics: [metric()] }), true);
    assert.equal(validate({ metrics: [metric({ direction: 'up' as 'higher' })] }), false);
  });

  it('is checked when written: a metric declared without its unit, or twice, is a located error and nothing is written', () => {
    const files = written({ metrics: [metric(), metric({ name: 'example.keptShare' })] });
    assert.deepEqual(Object.keys(files), ['report.json', 'report.md', 'report.html']);
    const { unit: _u, ...noUnit } = metric({ name: 'example.keptShare', source: 'share' });
    const cases: [unknown[], RegExp][] = [
      [
        [metric(), noUnit],
        /report\.json: field "metrics\.1": missing required field "unit" \(fix: each declared metric/,
      ],
      [[metric(), metric({ n: 1.5 })], /field "metrics\.1\.n": .*must be integer/],
      [[metric(), metric()], /field "metrics\.1\.name": "exactMatch" is declared twice \(also metrics\.0\)/],
    ];
    for (const [metrics, message] of cases) {
      let wrote = 0;
      assert.throws(
        () => writeReport({ json: { metrics } as RunReport, markdown: '' }, () => wrote++),
        (e: unknown) => e instanceof GraphError && message.test(e.message),
      );
      assert.equal(wrote, 0, 'nothing half-written');
    }
  });

  it('e3 report adds the evaluator’s metrics to a report.json from before they were declared, and refuses a bad one', () => {
    const dir = tempDir();
    const legacy = { model: { layers: 6, accuracy: 0.75, perplexity: 1.5, examples: 4 }, wallSeconds: 1 };
    writeFileSync(join(dir, 'report.json'), JSON.stringify(legacy));
    const r = e3(['report', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /report\.json had no declared metrics; added the evaluator's/);
    const now = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    assert.deepEqual(
      now.metrics.map((m: DeclaredMetric) => [m.name, m.value, m.n]),
      [
        ['exactMatch', 0.75, 4],
        ['perplexity', 1.5, 4],
      ],
    );
    writeFileSync(
      join(dir, 'report.json'),
      JSON.stringify({ metrics: [metric({ value: 'high' as unknown as number })] }),
    );
    const bad = e3(['report', dir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /report\.json: field "metrics\.0\.value": .*must be number,null/);
  });
});
