import { strict as assert } from 'node:assert';
import {
  cpSync,
  readFileSync,
  writeFileSync,
  readdirSync,
  existsSync,
  truncateSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '@e3/core';
import { cloneHandle, exportCheckpoint, fromFloat32, loadCheckpoint, toFloat32 } from '@e3/plugins';
import { e3, ROOT, tempDir } from '../helpers/files.js';
import { maxAbsDiff, useBackend } from '../helpers/tf.js';

const fixture = (n: string) => join(ROOT, 'test/fixtures', n);

/** A copy of a fixture to break. */
function copy(name: string): string {
  const d = join(tempDir(), name);
  cpSync(fixture(name), d, { recursive: true });
  return d;
}

async function loadError(dir: string): Promise<string> {
  const t0 = Date.now();
  try {
    await loadCheckpoint(dir);
  } catch (e) {
    assert.ok(e instanceof UserError, `not a UserError: ${(e as Error).stack}`);
    assert.ok(Date.now() - t0 < 5000, 'took too long to fail');
    return e.message;
  }
  assert.fail('loading should have failed');
}

function rewriteHeader(file: string, edit: (h: Record<string, any>) => void): void {
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString());
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(file, Buffer.concat([len, json, buf.subarray(8 + n)]));
}

describe('checkpoints', () => {
  before(() => useBackend('cpu'));

  it('converts f16 and bf16 with round-to-nearest-even and back', () => {
    const v = new Float32Array([0, 1, -2.5, 65504, 1e-5, 3.14159, -0.0001]);
    for (const dt of ['F16', 'BF16'] as const) {
      const back = toFloat32(fromFloat32(v, dt), dt, 'x');
      v.forEach((x, i) =>
        assert.ok(
          Math.abs(back[i] - x) <= Math.abs(x) * (dt === 'F16' ? 1e-3 : 8e-3) + 1e-7,
          `${dt} ${x} -> ${back[i]}`,
        ),
      );
    }
    assert.equal(toFloat32(fromFloat32(new Float32Array([1 + 2 ** -8]), 'BF16'), 'BF16', 'x')[0], 1); // ties to even
  });

  it('loads sharded bf16 (qwen2) and single-file f32 checkpoints', async () => {
    const h = await loadCheckpoint(fixture('tiny-qwen2'));
    assert.equal(h.dtype, 'BF16');
    assert.equal(h.model.numLayers, 4);
    h.dispose();
  });

  it('round trip: prune → export → load gives the masked original logits (f32 and sharded)', async () => {
    for (const [name, drop] of [
      ['tiny-qwen3', [1]],
      ['tiny-llama', [0, 2]],
    ] as const) {
      const h = await loadCheckpoint(fixture(name));
      const ref = JSON.parse(readFileSync(join(fixture(name), 'reference.json'), 'utf8'));
      const mask = [...Array(h.model.numLayers).keys()].map((i) => ((drop as readonly number[]).includes(i) ? 0 : 1));
      const kept = mask.flatMap((m, i) => (m ? [i] : []));
      const out = join(tempDir(), 'out');
      await exportCheckpoint(cloneHandle(h, kept), out, { maxShardBytes: 20000, method: 'test' });
      const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
      assert.equal(cfg.num_hidden_layers, kept.length);
      assert.ok(existsSync(join(out, 'model.safetensors.index.json')), 'expected shards');
      const rec = JSON.parse(readFileSync(join(out, 'e3_pruning.json'), 'utf8'));
      assert.deepEqual(rec.removedLayers, drop);
      const again = await loadCheckpoint(out);
      tf.tidy(() => {
        const ids = tf.tensor2d(ref.ids, undefined, 'int32');
        assert.ok(maxAbsDiff(again.model.forward(ids).logits, h.model.forward(ids, { mask }).logits) < 1e-5);
      });
      // layer names are contiguous 0..K-1
      const names = Object.keys(JSON.parse(readFileSync(join(out, 'model.safetensors.index.json'), 'utf8')).weight_map);
      const layers = [...new Set(names.flatMap((n) => /^model\.layers\.(\d+)\./.exec(n)?.[1] ?? []).map(Number))].sort(
        (a, b) => a - b,
      );
      assert.deepEqual(layers, [...Array(kept.length).keys()]);
      h.dispose();
      again.dispose();
    }
  });

  it('rewrites per-layer config lists and max_window_layers on export', async () => {
    const d = copy('tiny-qwen2');
    const cfg = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
    writeFileSync(
      join(d, 'config.json'),
      JSON.stringify({
        ...cfg,
        layer_types: ['full_attention', 'sliding_attention', 'full_attention', 'sliding_attention'],
        max_window_layers: 3,
      }),
    );
    const h = await loadCheckpoint(d);
    const out = join(tempDir(), 'o');
    await exportCheckpoint(cloneHandle(h, [0, 2, 3]), out);
    const c2 = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    assert.deepEqual(c2.layer_types, ['full_attention', 'full_attention', 'sliding_attention']);
    assert.equal(c2.max_window_layers, 2);
    assert.equal(c2.torch_dtype, 'bfloat16');
    h.dispose();
  });

  it('export is atomic: a failure leaves no directory; an existing one is kept without force', async () => {
    const h = await loadCheckpoint(fixture('tiny-qwen3'));
    const out = join(tempDir(), 'o');
    await assert.rejects(exportCheckpoint(h, out, { extraFiles: { 'bad\0name': 'y' } })); // a name no file system takes
    assert.ok(!existsSync(out));
    assert.deepEqual(readdirSync(join(out, '..')), []);
    await exportCheckpoint(h, out);
    await assert.rejects(exportCheckpoint(h, out), /already exists/);
    h.dispose();
  });

  describe('malformed checkpoints fail fast with a clear error', () => {
    const cases: [string, (d: string) => void, RegExp][] = [
      [
        'truncated file',
        (d) => truncateSync(join(d, 'model.safetensors'), statSync(join(d, 'model.safetensors')).size - 10),
        /model\.safetensors: .*(truncated|covers)/,
      ],
      [
        'absurd header length',
        (d) => {
          const f = join(d, 'model.safetensors');
          const b = readFileSync(f);
          b.writeBigUInt64LE(2n ** 62n, 0);
          writeFileSync(f, b);
        },
        /header length \d+ exceeds/,
      ],
      [
        'header past the end',
        (d) => {
          const f = join(d, 'model.safetensors');
          const b = readFileSync(f);
          b.writeBigUInt64LE(BigInt(b.length), 0);
          writeFileSync(f, b);
        },
        /runs past the end/,
      ],
      [
        'header not JSON',
        (d) => {
          const f = join(d, 'model.safetensors');
          const b = readFileSync(f);
          b.write('{{{{', 8);
          writeFileSync(f, b);
        },
        /header is not valid JSON/,
      ],
      [
        'unknown dtype',
        (d) =>
          rewriteHeader(join(d, 'model.safetensors'), (h) => {
            h['model.norm.weight'].dtype = 'F8';
          }),
        /tensor "model\.norm\.weight": unknown dtype "F8"/,
      ],
      [
        'wrong byte count',
        (d) =>
          rewriteHeader(join(d, 'model.safetensors'), (h) => {
            h['model.norm.weight'].shape = [31];
          }),
        /tensor "model\.norm\.weight": 128 bytes for shape \[31\] F32, which needs 124/,
      ],
      [
        'overlapping offsets',
        (d) =>
          rewriteHeader(join(d, 'model.safetensors'), (h) => {
            const e = h['model.norm.weight'];
            e.data_offsets = [e.data_offsets[0] - 4, e.data_offsets[1] - 4];
          }),
        /overlaps|gap/,
      ],
      [
        'missing tensor',
        (d) =>
          rewriteHeader(join(d, 'model.safetensors'), (h) => {
            h['model.layers.9.mlp.up_proj.weight'] = h['model.layers.1.mlp.up_proj.weight'];
            delete h['model.layers.1.mlp.up_proj.weight'];
          }),
        /missing tensor "model\.layers\.1\.mlp\.up_proj\.weight"[\s\S]*belongs to layer 9, but config\.json has num_hidden_layers = 4/,
      ],
      [
        'wrong shape',
        (d) =>
          rewriteHeader(join(d, 'model.safetensors'), (h) => {
            h['model.norm.weight'].shape = [8, 4];
          }),
        /"model\.norm\.weight" has shape \[8,4\] but config\.json implies \[32\]/,
      ],
      [
        'unknown model_type',
        (d) =>
          writeFileSync(
            join(d, 'config.json'),
            JSON.stringify({ ...JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')), model_type: 'gpt2' }),
          ),
        /config\.json: "model_type" is "gpt2", which is not supported/,
      ],
      ['config not JSON', (d) => writeFileSync(join(d, 'config.json'), '{ nope'), /config\.json: not valid JSON/],
      ['config missing', (d) => unlinkSync(join(d, 'config.json')), /config\.json: config\.json not found/],
      [
        'config disagrees with weights',
        (d) =>
          writeFileSync(
            join(d, 'config.json'),
            JSON.stringify({ ...JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')), intermediate_size: 32 }),
          ),
        /mlp\.gate_proj\.weight" has shape \[64,32\] but config\.json implies \[32,32\]/,
      ],
      [
        'no weights',
        (d) => unlinkSync(join(d, 'model.safetensors')),
        /no model\.safetensors or model\.safetensors\.index\.json/,
      ],
    ];
    for (const [what, breakIt, expected] of cases) {
      it(what, async () => {
        const d = copy('tiny-qwen3');
        breakIt(d);
        assert.match(await loadError(d), expected);
      });
    }
    it('a shard listed in the index is missing', async () => {
      const d = copy('tiny-qwen2');
      unlinkSync(join(d, 'model-00002-of-00002.safetensors'));
      const shard = 'model-00002-of-00002\\.safetensors';
      assert.match(await loadError(d), new RegExp(`${shard}: shard ${shard} listed in .*index\\.json not found`));
    });
  });

  it('e3 prune exports a loadable checkpoint and e3 model logits matches the reference', () => {
    const out = join(tempDir(), 'pruned');
    const r = e3(['prune', '--model', 'test/fixtures/tiny-qwen3', '--drop', '1', '--out', out, '--backend', 'cpu']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /backend cpu/);
    const ref = JSON.parse(readFileSync(join(fixture('tiny-qwen3'), 'reference.json'), 'utf8'));
    const l = e3(['model', 'logits', out, '--ids', ref.ids[0].join(','), '--backend', 'cpu']);
    assert.equal(l.code, 0, l.stderr);
    assert.ok(maxAbsDiff(JSON.parse(l.stdout), ref.maskedLogits[0]) < 1e-4);
    const again = e3(['prune', '--model', 'test/fixtures/tiny-qwen3', '--drop', '1', '--out', out, '--backend', 'cpu']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists.*--force/);
  });
});
