import { strict as assert } from 'node:assert';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/files.js';
import { jsonlNode, runGraph, teacherGraph } from '../helpers/graphs.js';

const RECORDS = Array.from({ length: 12 }, (_, i) => `{"prompt": "${i}+${i}=", "answer": "${2 * i}"}`);

/** Writes a data file (text or bytes) in a fresh directory; returns its path. */
function dataFile(content: string | Buffer, name = 'd.jsonl'): string {
  const path = join(tempDir(), name);
  writeFileSync(path, content);
  return path;
}

/** Runs data → teacher cache over a JSONL path. */
function runData(path: string, params = '') {
  return runGraph(teacherGraph(jsonlNode(path, params), join(tempDir(), 'cache')));
}

/** A failed run: exit 1, the message, no stack trace. */
function assertFails(r: { code: number; stderr: string }, message: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

describe('data.jsonl through e3 run', function () {
  this.timeout(120000);

  it('a BOM, NBSP and other Unicode whitespace around lines and CRLF endings are read as the check reads them', () => {
    const lines = RECORDS.map((l, i) => (i % 3 === 0 ? `${l}\u00a0` : i % 3 === 1 ? `\u2003${l}\u3000` : `${l}\r`));
    const r = runData(dataFile(`\ufeff${lines.join('\n')}\n`));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.log, /0 examples reused, 12 computed now/);
  });

  it('bad JSON after such a line still names file:line', () => {
    const path = dataFile(`\ufeff${RECORDS[0]}\u00a0\n${RECORDS[1]}\n{"prompt": "1+1=", "answer"\n`);
    assertFails(runData(path), new RegExp(`node "data" failed: ${path}:3: not valid JSON`));
  });

  it('bytes that are not UTF-8 name file:line and the byte', () => {
    const latin1 = Buffer.from(`${RECORDS[0]}\n{"text": "café"}\n`, 'latin1');
    const path = dataFile(latin1);
    assertFails(runData(path), new RegExp(`${path}:2: not valid UTF-8 \\(byte 0xE9 at byte 14 of the line\\).*iconv`));
  });

  it('a directory, a symlink loop and a missing file each say what they are', () => {
    const dir = join(tempDir(), 'records.jsonl');
    mkdirSync(dir);
    assertFails(runData(dir), new RegExp(`node "data" field "params.path": file "${dir}" is a directory, not a file`));
    const loop = join(tempDir(), 'loop.jsonl');
    symlinkSync(loop, loop);
    assertFails(runData(loop), new RegExp(`file "${loop}" cannot be opened: symlink loop`));
    const missing = join(tempDir(), 'none.jsonl');
    assertFails(runData(missing), new RegExp(`file "${missing}" not found`));
  });

  it('empty records are skipped and counted; a file of only empty records is a located error', () => {
    const empty = '{"text": ""}';
    const lines = [RECORDS[0], empty, RECORDS[1], empty, '{"prompt": "", "answer": ""}', ...RECORDS.slice(2)];
    const r = runData(dataFile(lines.join('\n')));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.log, /skipped 3 empty records \(lines 2, 4, 5\)/);
    assert.match(r.log, /12 computed now/);
    const path = dataFile(`${empty}\n\n${empty}\n`);
    assertFails(runData(path), new RegExp(`${path}:1: every record is empty \\(2, lines 1, 3\\)`));
  });

  it('a 30 MB line is cut to the model context, quickly, and the cut is reported', () => {
    const long = `{"text": "${'1+2=3 '.repeat(5_000_000)}"}`;
    const path = dataFile([long, ...RECORDS].join('\n'));
    const t0 = Date.now();
    const r = runData(path);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Date.now() - t0 < 60_000, `took ${Date.now() - t0} ms`);
    const cut = `1 record was longer than the model's context \\(64 tokens\\) and cut to it \\(${path}:1\\)`;
    assert.match(r.log, new RegExp(cut));
  });
});
