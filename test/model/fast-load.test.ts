import { strict as assert } from 'node:assert';
import { cpSync, openSync, readFileSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '@e3/core';
import {
  checkBackendRoom,
  encodeSafetensors,
  exportCheckpoint,
  fromFloat32,
  inspectCheckpoint,
  loadCheckpoint,
  openSafetensors,
  toFloat32,
} from '@e3/plugins';
import { e3, ROOT, tempDir } from '../helpers/files.js';
import { useBackend } from '../helpers/tf.js';

const fixture = (n: string) => join(ROOT, 'test/fixtures', n);

/** A copy of a fixture whose tensor data (everything after the header) is overwritten with 0xff: NaN in every dtype. */
function garbageData(name: string): string {
  const dir = join(tempDir(), name);
  cpSync(fixture(name), dir, { recursive: true });
  const file = join(dir, 'model.safetensors');
  const buf = readFileSync(file);
  buf.fill(0xff, 8 + Number(buf.readBigUInt64LE(0)));
  writeFileSync(file, buf);
  return dir;
}

/** The reference conversion, one value at a time (what the loader did before it was made fast). */
function slowBf16(bytes: Buffer): Uint32Array {
  const u = new Uint32Array(bytes.length / 2);
  for (let i = 0; i < u.length; i++) u[i] = bytes.readUInt16LE(i * 2) << 16;
  return u;
}

async function loadError(dir: string): Promise<string> {
  try {
    await loadCheckpoint(dir);
  } catch (e) {
    assert.ok(e instanceof UserError, String(e));
    return e.message;
  }
  assert.fail('loading should have failed');
}

describe('model info from headers, fast loading', function () {
  this.timeout(60000);
  before(() => useBackend('cpu'));

  it('e3 model info never reads tensor data: it works on a checkpoint whose data is garbage', async () => {
    const dir = garbageData('tiny-qwen3');
    const r = e3(['model', 'info', dir]);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    const good = JSON.parse(e3(['model', 'info', fixture('tiny-qwen3')]).stdout);
    const keys = [
      'modelType',
      'layers',
      'hiddenSize',
      'heads',
      'kvHeads',
      'headDim',
      'vocabSize',
      'parameters',
      'dtype',
      'bytes',
    ];
    for (const key of keys) {
      assert.deepEqual(info[key], good[key], key);
    }
    assert.ok(info.loadSeconds < 1, `model info took ${info.loadSeconds} s`);
    // the same data does fail a real load, so the test could fail
    assert.match(await loadError(dir), /holds a non-finite value at index 0/);
  });

  it('inspectCheckpoint: parameters and dtype as loading gives them, for every fixture', async () => {
    for (const name of ['tiny-llama', 'tiny-qwen2', 'tiny-qwen3']) {
      const t0 = performance.now();
      const info = inspectCheckpoint(fixture(name));
      assert.ok(performance.now() - t0 < 500, `${name}: ${performance.now() - t0} ms`);
      const h = await loadCheckpoint(fixture(name));
      assert.equal(info.parameters, h.model.parameterCount(), name);
      assert.equal(info.dtype, h.dtype, name);
      assert.equal(info.config.numLayers, h.model.numLayers, name);
      h.dispose();
    }
  });

  it('bf16 → f32: bit-exact against one-by-one conversion for all 65,536 values, odd lengths, unaligned', () => {
    const all = Buffer.alloc(2 * 65536 + 3);
    for (let h = 0; h < 65536; h++) all.writeUInt16LE(h, 1 + 2 * h);
    for (const [start, n] of [
      [1, 65536],
      [1, 65535],
      [3, 7],
      [1, 1],
    ]) {
      const bytes = all.subarray(start, start + 2 * n); // odd byte offset: not aligned
      const got = new Uint32Array(toFloat32(bytes, 'BF16', 'x').buffer);
      assert.deepEqual(got, slowBf16(bytes), `${n} values`);
    }
  });

  it('f32 → bf16: the typed-array encoder matches one-by-one rounding (ties to even, NaN, infinities)', () => {
    const bits = [
      0, 0x80000000, 0x3f800000, 0x3f808000, 0x3f818000, 0x3f807fff, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000,
      0x7fc00000, 0x7f800001, 0xffffffff, 0x00000001, 0x807fffff,
    ];
    for (let i = 0; i < 5000; i++) bits.push((Math.imul(i, 2654435761) ^ (i << 7)) >>> 0);
    const values = new Float32Array(new Uint32Array(bits).buffer);
    const got = fromFloat32(values, 'BF16');
    bits.forEach((x, i) => {
      const nan = (x & 0x7fffffff) > 0x7f800000;
      const want = nan ? (x >>> 16) | 0x40 : ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
      assert.equal(got.readUInt16LE(2 * i), want, `0x${x.toString(16)}`);
    });
  });

  it('a bf16 checkpoint exported again is byte-identical tensor by tensor (streamed writer)', async () => {
    const h = await loadCheckpoint(fixture('tiny-qwen2'));
    const out = join(tempDir(), 'again');
    await exportCheckpoint(h, out, { maxShardBytes: 30000, method: 'test' });
    h.dispose();
    const tensorsOf = (dir: string) => {
      const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
      const m = new Map<string, Buffer>();
      for (const file of new Set(Object.values(index.weight_map) as string[])) {
        const buf = readFileSync(join(dir, file));
        const n = Number(buf.readBigUInt64LE(0));
        const header = JSON.parse(buf.subarray(8, 8 + n).toString());
        for (const [name, e] of Object.entries(header) as [string, { data_offsets: number[] }][]) {
          if (name !== '__metadata__') m.set(name, buf.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]));
        }
      }
      return m;
    };
    const [a, b] = [tensorsOf(fixture('tiny-qwen2')), tensorsOf(out)];
    assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
    for (const [name, bytes] of a) assert.ok(bytes.equals(b.get(name)!), name);
  });

  it('reads tensors larger than a read chunk and reports the first non-finite value by its index', () => {
    const n = 9_000_001; // 18 MB of bf16: more than one 16 MiB chunk, odd
    const dir = tempDir();
    const file = join(dir, 'big.safetensors');
    const entry = { dtype: 'BF16', shape: [n], data_offsets: [0, 2 * n] };
    const header = Buffer.from(JSON.stringify({ w: entry }).padEnd(64));
    const data = Buffer.alloc(2 * n);
    for (let i = 0; i < n; i++) data.writeUInt16LE((i * 40503) & 0x3fff, 2 * i);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    const fd = openSync(file, 'w');
    for (const b of [len, header, data]) writeSync(fd, b);
    closeSync(fd);
    const f = openSafetensors(file);
    const out = new Float32Array(n);
    assert.equal(f.readFloat32Into('w', out), -1);
    assert.deepEqual(new Uint32Array(out.buffer), slowBf16(data));
    // each one earlier than the last, so each is the first
    for (const [at, bits] of [
      [n - 1, 0xffc0],
      [8_388_609, 0x7f80],
      [3, 0xff81],
    ] as const) {
      data.writeUInt16LE(bits, 2 * at);
      writeFileSync(file, Buffer.concat([len, header, data]));
      assert.equal(openSafetensors(file).readFloat32Into('w', out), at, `non-finite at ${at}`);
    }
  });

  it('f16 and f32: non-finite values found at their index', () => {
    for (const dtype of ['F16', 'F32'] as const) {
      for (const bad of [Infinity, -Infinity, NaN]) {
        const values = new Float32Array([0.5, -1, 2, bad, 3, bad]);
        const file = join(tempDir(), 'x.safetensors');
        writeFileSync(file, encodeSafetensors(new Map([['w', { shape: [6], data: values }]]), dtype));
        const out = new Float32Array(6);
        assert.equal(openSafetensors(file).readFloat32Into('w', out), 3, `${dtype} ${bad}`);
        assert.deepEqual([...out.subarray(0, 3)], [0.5, -1, 2]);
      }
    }
  });

  it('on wasm: weights go straight into the heap; a failed load frees them; too large fails early', async () => {
    await useBackend('wasm');
    try {
      const h = await loadCheckpoint(fixture('tiny-qwen2'));
      assert.equal(h.model.parameterCount(), inspectCheckpoint(fixture('tiny-qwen2')).parameters);
      h.dispose();
      const before = tf.memory().numTensors;
      assert.match(await loadError(garbageData('tiny-llama')), /non-finite/);
      assert.equal(tf.memory().numTensors, before);
      // a model past wasm's 4 GiB fails before anything is read, with the fix (not an abort mid-load)
      const expected = new RegExp(
        '^m: needs 4\\.00 GiB as float32( \\(with [0-9.]+ GiB already in use\\))?, ' +
          'more than the 4 GiB the wasm backend can address \\(fix: --backend cpu',
      );
      const tooLarge = (e: Error) => e instanceof UserError && expected.test(e.message);
      assert.throws(() => checkBackendRoom(2 ** 32, 'm'), tooLarge);
      checkBackendRoom(2 ** 30, 'm');
    } finally {
      await useBackend('cpu');
    }
  });
});
