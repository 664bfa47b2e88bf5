import { strict as assert } from 'node:assert';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from '../helpers/files.js';
import { jsonlNode, runGraph, teacherGraph } from '../helpers/graphs.js';
import { jsonlFile } from '../helpers/jsonl-data.js';

const DATA_PLUGINS = join(ROOT, 'test/dist/helpers/data-plugins.js');

/** 40 sums, one a line. */
const sums = () =>
  jsonlFile(
    Array.from({ length: 40 }, (_, i) => ({ prompt: `${i % 10}+${i % 4}=`, answer: String((i % 10) + (i % 4)) })),
  );

describe('data.jsonl: a file changed mid-run', function () {
  this.timeout(120000);

  it('a data file truncated after its check (its last line cut) is named as truncated at file:line, not "not valid JSON"', () => {
    const path = sums();
    const size = statSync(path).size;
    const cut = `  cut: { plugin: test.truncateFile, params: { path: "${path}", keepBytes: ${size - 10} }, in: { data: data.data } }`;
    const graph = teacherGraph(jsonlNode(path), join(tempDir(), 'cache'), cut).replace(
      'data: data.data } }',
      'data: cut.data } }',
    );
    const r = runGraph(graph, ['--plugin', DATA_PLUGINS]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `node "targets" failed: ${path}:\\d+: the data file changed while the run was reading it: truncated from ` +
          `${size} to ${size - 10} bytes since its records were checked at the start \\(fix: leave a data file alone`,
      ),
    );
    assert.doesNotMatch(r.stderr, /not valid JSON|\n\s+at /);
  });
});
