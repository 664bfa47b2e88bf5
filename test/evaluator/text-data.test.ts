import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, writeFiles } from '../helpers/files.js';
import { jsonlNode, runGraph, teacherGraph } from '../helpers/graphs.js';

/** Plain-text records ({text}): nothing to answer, but perplexity, KL and speed still apply. */
const texts = (n: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ text: `${i}+${i}=${2 * i}\n${i}*2=${2 * i}` })).join('\n');

const EVAL = [
  '  eval: { plugin: evaluator.suite,',
  '    params: { examples: 20, promptLoss: true, speed: { enabled: true, prompts: 4, newTokens: 2, repeats: 1 } },',
  '    in: { model: teacher.model, teacher: teacher.model, data: data.data } }',
].join('\n');

describe('evaluator.suite on plain-text data', function () {
  this.timeout(120_000);

  it('reports no exact match (rather than 0%) and times decoding from the start of each text', () => {
    const dir = writeFiles({ 'd.jsonl': texts(60) });
    const graph = teacherGraph(jsonlNode(join(dir, 'd.jsonl'), 'heldoutFraction: 0.5'), join(tempDir(), 'c'), EVAL);
    const r = runGraph(graph.replace(/ {2}targets:.*\n/, ''));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.log, /model \(8 layers\): no prompts to answer, perplexity \d+\.\d+; teacher/);
    const report = JSON.parse(readFileSync(join(r.out, 'report.json'), 'utf8'));
    assert.equal(report.model.accuracy, undefined);
    assert.ok(report.model.speed.decodeTokensPerSecond > 0);
    assert.ok(report.speedup.decode > 0);
  });
});
