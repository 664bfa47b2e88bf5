import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { e3, ROOT, tempDir } from '../helpers/files.js';
import { jsonlNode, runGraph, teacherGraph } from '../helpers/graphs.js';
import { jsonlFile } from '../helpers/jsonl-data.js';

const TEACHER = join(ROOT, 'models', 'arith-teacher');

/**
 * 30 sums of one digit and one more record: the teacher's tokenizer has one token per character,
 * so "3+4=" and "7" need 4 + 1 = 5 tokens, and line 7's "12+34=" and "46" need 6 + 2 = 8.
 */
function sums(): string {
  const records: unknown[] = Array.from({ length: 30 }, (_, i) => ({
    prompt: `${i % 10}+${(i * 3) % 10}=`,
    answer: String((i % 10) + ((i * 3) % 10)),
  }));
  records.splice(6, 0, { prompt: '12+34=', answer: '46' });
  return jsonlFile(records);
}

function validate(graph: string) {
  const file = join(tempDir(), 'g.yaml');
  writeFileSync(file, graph);
  return { ...e3(['validate', file]), file };
}

describe('data.jsonl: maxTokens against what records need', function () {
  this.timeout(120000);

  it('a cut into prompt/answer records is refused at validation, located at params.maxTokens, with the fix', () => {
    const path = sums();
    const graph = teacherGraph(jsonlNode(path, 'maxTokens: 4'), join(tempDir(), 'cache'));
    const v = validate(graph);
    assert.equal(v.code, 1, v.stderr);
    // Line 1 ("0+0=", "0") needs 5 tokens; the 31 records all need 5 or more; line 7 needs 8.
    assert.match(
      v.stderr,
      new RegExp(
        `${v.file}:\\d+:\\d+: node "data" field "params.maxTokens": ${path}:1: this record needs 5 tokens for its ` +
          'prompt and whole answer, but node "data" field "params.maxTokens" = 4 would cut its answer; 31 records ' +
          'do \\(the longest, line 7, needs 8\\) \\(fix: set maxTokens: 8 or more',
      ),
    );
    assert.doesNotMatch(v.stderr, /\n\s+at /);
    const seven = validate(teacherGraph(jsonlNode(path, 'maxTokens: 7'), join(tempDir(), 'cache')));
    assert.match(
      seven.stderr,
      new RegExp(`${path}:7: this record needs 8 tokens .* 1 record does .*maxTokens: 8 or more`),
    );
    assert.equal(validate(teacherGraph(jsonlNode(path, 'maxTokens: 8'), join(tempDir(), 'cache'))).code, 0);
  });

  it('e3 run refuses it too: up front with params.tokenizer, else where the record is encoded', () => {
    const path = sums();
    const named = runGraph(
      teacherGraph(jsonlNode(path, `maxTokens: 7, tokenizer: "${TEACHER}"`), join(tempDir(), 'c')),
    );
    assert.equal(named.code, 1, named.stderr);
    assert.match(named.stderr, new RegExp(`node "data" failed: ${path}:7: this record needs 8 tokens`));
    const unnamed = runGraph(teacherGraph(jsonlNode(path, 'maxTokens: 7, heldoutFraction: 0'), join(tempDir(), 'c')));
    assert.equal(unnamed.code, 1, unnamed.stderr);
    assert.match(
      unnamed.stderr,
      new RegExp(`node "targets" failed: ${path}:7: this record needs 8 tokens .*maxTokens = 7 would cut its answer`),
    );
  });

  it('pack: true with rows of 1 to 3 tokens runs through the evaluator, timing decoding on the packed ids', () => {
    const path = jsonlFile(
      Array.from({ length: 400 }, (_, i) => ({ text: `${i % 10}+${i % 7}=${(i % 10) + (i % 7)}` })),
    );
    for (const maxTokens of [1, 3]) {
      const graph = [
        'apiVersion: e3/v1',
        'seed: 0',
        'nodes:',
        `  data: ${jsonlNode(path, `pack: true, maxTokens: ${maxTokens}, tokenizer: "${TEACHER}"`)}`,
        `  teacher: { plugin: model.hfCheckpoint, params: { path: "${TEACHER}" } }`,
        '  eval:',
        '    plugin: evaluator.suite',
        '    params: { examples: 20, speed: { prompts: 4, newTokens: 2, repeats: 1 } }',
        '    in: { model: teacher.model, teacher: teacher.model, data: data.data }',
      ].join('\n');
      assert.equal(validate(graph + '\n').code, 0);
      const r = runGraph(graph + '\n');
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(readFileSync(join(r.out, 'report.json'), 'utf8'));
      assert.ok(report.model.speed.prefillTokensPerSecond > 0, JSON.stringify(report.model));
      assert.ok(report.speedup.decode > 0);
    }
  });
});
