import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { tempDir, writeFiles } from '../helpers/files.js';
import { jsonlNode, runGraph, teacherGraph } from '../helpers/graphs.js';

const record = (i: number) => `{"prompt": "${i}+1=", "answer": "${i + 1}"}`;
const records = (n: number) => Array.from({ length: n }, (_, i) => record(i)).join('\n');

/** Distillation that would take minutes, then an evaluation: the held-out check must stop the run first. */
const SLOW_TAIL = [
  '  distill: { plugin: distiller.train, params: { steps: 100000, batchSize: 4 },',
  '    in: { model: teacher.model, targets: targets.targets, data: data.data } }',
  '  eval: { plugin: evaluator.suite, params: { examples: 50, speed: { enabled: false } },',
  '    in: { model: distill.model, data: data.data } }',
].join('\n');

function run(data: string) {
  return runGraph(teacherGraph(data, join(tempDir(), 'cache'), SLOW_TAIL), [], 60_000);
}

function assertTooFew(r: { code: number; stderr: string; log: string }, held: number, origin: string): void {
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      'node "eval" failed: evaluator.suite scores held-out examples, ' +
        `but the data holds ${held} \\(node "data" field "params.heldoutFraction" = ${origin}\\); ` +
        'it needs at least 20 \\(fix: add records, or raise heldoutFraction',
    ),
  );
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.doesNotMatch(r.log, /distilled|exact match/);
}

describe('too few held-out examples', function () {
  this.timeout(120000);

  it('one record: an error naming heldoutFraction, before distillation', () => {
    const dir = writeFiles({ 'd.jsonl': records(1) });
    assertTooFew(run(jsonlNode(join(dir, 'd.jsonl'))), 0, `0.1 of 1 record in ${dir}/d.jsonl`);
  });

  it('heldoutFraction: 0 on 40 records', () => {
    const dir = writeFiles({ 'd.jsonl': records(40) });
    assertTooFew(run(jsonlNode(join(dir, 'd.jsonl'), 'heldoutFraction: 0')), 0, `0 of 40 records in ${dir}/d.jsonl`);
  });

  it('data.arithmetic with few problems', () => {
    assertTooFew(run('{ plugin: data.arithmetic, params: { maxOperand: 2, ops: ["+"] } }'), 1, '0.1 of 9 problems');
  });

  it("the distiller's periodic evaluation checks too", () => {
    const dir = writeFiles({ 'd.jsonl': records(30) });
    const distill = SLOW_TAIL.split('\n').slice(0, 2).join('\n').replace('batchSize: 4', 'batchSize: 4, evalEvery: 10');
    const r = runGraph(teacherGraph(jsonlNode(join(dir, 'd.jsonl')), join(tempDir(), 'cache'), distill), [], 60_000);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /node "distill" failed: distiller.train \(evalEvery\) scores held-out examples, /);
    assert.match(r.stderr, /but the data holds 3 \(node "data" field "params.heldoutFraction" = 0.1 of 30 records/);
    assert.match(r.stderr, /it needs at least 20/);
  });
});
