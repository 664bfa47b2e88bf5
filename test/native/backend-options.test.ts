import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadAddon } from '@e3/native';
import { e3, tempDir, writeFiles } from '../helpers/files.js';
import { runGraph, teacherGraph } from '../helpers/graphs.js';
import { NO_ADDON, skipBecause } from '../helpers/skip.js';

/** A short graph (arithmetic data, the shipped teacher, its top-k cache) on `backend`. */
function graph(backend: string): string {
  const data = '{ plugin: data.arithmetic, params: { maxOperand: 9, heldoutFraction: 0.2 } }';
  return teacherGraph(data, join(tempDir(), 'cache')).replace('seed: 0\n', `seed: 0\nbackend: ${backend}\n`);
}

function withEnv<T>(name: string, value: string, f: () => T): T {
  const before = process.env[name];
  process.env[name] = value;
  try {
    return f();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}

describe('backend options in the graph (native kernels), recorded in resolved.yaml', function () {
  this.timeout(180_000);

  it('`backend: { name: cpu, threads: 1 }` runs the native kernels on cpu and resolved.yaml records every option', function () {
    if (!loadAddon()) skipBecause(this, NO_ADDON);
    const r = runGraph(graph('{ name: cpu, threads: 1 }'));
    assert.equal(r.code, 0, r.stderr);
    const resolved = parse(readFileSync(join(r.out, 'resolved.yaml'), 'utf8'));
    assert.deepEqual(resolved.backend, { name: 'cpu', native: true, fused: true, threads: 1, bufferPool: 1024 });
    assert.match(
      r.log,
      /backend cpu: requested cpu \(host memory; BatchMatMul on native OpenBLAS; fused native decoder blocks \(1 thread\); native output-head statistics\)/,
    );
  });

  it('an E3_* variable overrides the graph, and resolved.yaml and run.log say so', function () {
    const r = withEnv('E3_FUSED', '0', () => runGraph(graph('wasm')));
    assert.equal(r.code, 0, r.stderr);
    const resolved = parse(readFileSync(join(r.out, 'resolved.yaml'), 'utf8'));
    assert.equal(resolved.backend.name, 'wasm');
    assert.equal(resolved.backend.fused, false);
    assert.match(r.log, /backend option: E3_FUSED=0 sets fused: false/);
    assert.doesNotMatch(r.log, /fused native decoder blocks/);
  });

  it('`e3 validate` refuses an unknown option or thread count, with its line', () => {
    const dir = writeFiles({ 'g.yaml': graph('{ name: cpu, threads: 3 }') });
    const r = e3(['validate', join(dir, 'g.yaml')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /g\.yaml:3:\d+/);
    assert.match(r.stderr, /threads/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
