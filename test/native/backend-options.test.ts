import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { choosePrecision, loadAddon, type NativeAddon } from '@e3/native';
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
    assert.deepEqual(resolved.backend, {
      name: 'cpu',
      native: true,
      fused: true,
      threads: 1,
      bufferPool: 1024,
      precision: 'auto',
    });
    const kernels = 'fused native decoder blocks \\(1 thread\\); native output-head statistics; precision: ';
    assert.match(
      r.log,
      new RegExp(`backend cpu: requested cpu \\(host memory; BatchMatMul on native OpenBLAS( and oneDNN)?; ${kernels}`),
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

  it('`precision: bf16` is recorded: run.log and a comment in resolved.yaml say what runs and why', function () {
    const addon = loadAddon();
    if (!addon) skipBecause(this, NO_ADDON);
    const choice = choosePrecision('bf16', addon);
    const r = runGraph(graph('{ name: wasm, precision: bf16 }'));
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(join(r.out, 'resolved.yaml'), 'utf8');
    assert.equal(parse(text).backend.precision, 'bf16');
    assert.ok(text.includes(`precision: bf16 # on wasm and cpu: ${choice.why}`), text);
    assert.ok(r.log.includes(`precision bf16 → ${choice.why}`), r.log);
    // Here: bf16 where oneDNN and bf16 hardware are, else f32 with the reason.
    assert.match(choice.why, addon.precisionInfo().onednn ? /bf16 products|no bf16 arithmetic/ : /oneDNN is not built/);
  });

  it('E3_PRECISION overrides the graph; a value that is none of auto, bf16, f32 is a clear error', () => {
    const r = withEnv('E3_PRECISION', 'f32', () => runGraph(graph('{ name: wasm, precision: bf16 }')));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.log, /backend option: E3_PRECISION=f32 sets precision: f32/);
    assert.match(r.log, /precision f32 → precision f32 requested/);
    const bad = withEnv('E3_PRECISION', 'fp16', () => runGraph(graph('wasm')));
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /E3_PRECISION=fp16: expected one of auto, bf16, f32/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
  });

  it('without oneDNN or bf16 hardware, bf16 and auto run f32 and say why', () => {
    const fake = (onednn: string, isa: string) =>
      ({ precisionInfo: () => ({ onednn, isa, autoMinWork: 2 ** 25 }) }) as unknown as NativeAddon;
    for (const p of ['bf16', 'auto'] as const) {
      assert.deepEqual(
        [choosePrecision(p, fake('', '')).used, choosePrecision(p, fake('', '')).why],
        ['f32', 'f32: oneDNN is not built into the native addon (apt-get install libdnnl-dev, then npm run build)'],
      );
      const avx2 = choosePrecision(p, fake('2.6.3', 'avx2'));
      assert.equal(avx2.used, 'f32');
      assert.match(avx2.why, /no bf16 arithmetic \(oneDNN 2\.6\.3 ISA avx2; bf16 needs AMX or avx512_bf16\)/);
      assert.equal(choosePrecision(p, undefined).used, 'f32');
    }
    assert.equal(choosePrecision('auto', fake('2.6.3', 'avx512_core_amx')).used, 'bf16-large');
    assert.equal(choosePrecision('bf16', fake('2.6.3', 'avx512_core_bf16')).used, 'bf16');
    assert.equal(choosePrecision('f32', fake('2.6.3', 'avx512_core_amx')).used, 'f32');
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
