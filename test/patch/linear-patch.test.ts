import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, UserError } from '@e3/core';
import {
  arithmeticDataset,
  cloneHandle,
  encodeBatch,
  exportCheckpoint,
  linearPatch,
  loadCheckpoint,
  randomModel,
  removedSpans,
  textCodec,
  type CalibrationBatch,
  type ModelHandle,
} from '@e3/plugins';
import { tempDir } from '../helpers/files.js';
import { maxAbsDiff, useBackend } from '../helpers/tf.js';
import { tinyModel } from '../helpers/tiny-model.js';

async function calibration(h: ModelHandle, n = 64, bs = 32): Promise<CalibrationBatch[]> {
  const examples = await arithmeticDataset(
    { ops: ['+', '-'], maxOperand: 9, heldoutFraction: 0.2 },
    new Rng(1),
  ).calibration(n);
  const codec = textCodec(h, 'test');
  const out: CalibrationBatch[] = [];
  for (let i = 0; i < examples.length; i += bs) {
    const b = encodeBatch(examples.slice(i, i + bs), codec, true);
    out.push({ ids: tf.tensor2d(b.ids, undefined, 'int32'), attention: tf.tensor2d(b.attention) });
  }
  return out;
}

/** Mean over real tokens of |a − b|², a = h's stream after block `ba`, b = g's after block `bb` (−1: embedding). */
async function streamMse(h: ModelHandle, ba: number, g: ModelHandle, bb: number, batches: CalibrationBatch[]) {
  let sum = 0,
    rows = 0;
  for (const b of batches) {
    const [s, n] = tf.tidy(() => {
      const x = h.model.forward(b.ids, { attentionMask: b.attention, outputHidden: true }).hidden![ba + 1];
      const y = g.model.forward(b.ids, { attentionMask: b.attention, outputHidden: true }).hidden![bb + 1];
      const sq = tf.sum(tf.square(tf.sub(x, y)), -1);
      return [tf.sum(tf.mul(sq, b.attention)), tf.sum(b.attention)];
    });
    sum += (await s.data())[0];
    rows += (await n.data())[0];
    tf.dispose([s, n]);
  }
  return sum / rows;
}

const free = (batches: CalibrationBatch[]) => batches.forEach((b) => tf.dispose([b.ids, b.attention]));
const untied = (layers: number) =>
  randomModel({
    config: {
      model_type: 'qwen3',
      hidden_size: 16,
      intermediate_size: 32,
      num_hidden_layers: layers,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      head_dim: 8,
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
      max_position_embeddings: 64,
      tie_word_embeddings: false,
      vocab_size: 18,
      pad_token_id: 0,
      eos_token_id: 1,
    },
    rng: new Rng(9),
    std: 0.3,
    where: 'untied',
  });

describe('patch: the linear patch (ReplaceMe)', function () {
  this.timeout(120000);
  before(() => useBackend('cpu'));

  it('finds the spans of consecutive removed layers', () => {
    assert.deepEqual(removedSpans([1, 0, 0, 1, 0]), [
      [1, 2],
      [4, 4],
    ]);
    assert.deepEqual(removedSpans([0, 1, 1]), [[0, 0]]);
    assert.deepEqual(removedSpans([1, 1]), []);
  });

  it('the folded model does what the fit says, and beats plain removal (two spans)', async () => {
    const teacher = await tinyModel({ layers: 6, seed: 4 });
    const batches = await calibration(teacher);
    const mask = [1, 1, 0, 0, 1, 0];
    const { model, fits } = await linearPatch(teacher, mask, batches, {
      lambda: 1e-3,
      leadingSpan: 'embedding',
      who: 't',
    });
    const plain = cloneHandle(teacher, [0, 1, 4]);
    assert.deepEqual(
      fits.map((f) => [f.removed, f.foldedInto]),
      [
        [[2, 3], 'model.layers.1.mlp.down_proj.weight'],
        [[5], 'model.layers.2.mlp.down_proj.weight'],
      ],
    );
    // Span 1: the student's stream after its block 1 against the teacher's after block 3.
    const measured = await streamMse(model, 1, teacher, 3, batches);
    assert.ok(
      Math.abs(measured - fits[0].msePatched) <= 1e-3 * fits[0].msePatched,
      `${measured} vs ${fits[0].msePatched}`,
    );
    const removed = await streamMse(plain, 1, teacher, 3, batches);
    assert.ok(Math.abs(removed - fits[0].mseRemoved) <= 1e-3 * removed, `${removed} vs ${fits[0].mseRemoved}`);
    assert.ok(fits[0].msePatched < 0.9 * fits[0].mseRemoved, JSON.stringify(fits[0]));
    // Span 2 is fitted on the student as patched by span 1, against the teacher's final stream.
    const last = await streamMse(model, 2, teacher, 5, batches);
    assert.ok(Math.abs(last - fits[1].msePatched) <= 1e-3 * last, `${last} vs ${fits[1].msePatched}`);
    assert.ok(fits[1].msePatched < fits[1].mseRemoved);
    [teacher, model, plain].forEach((h) => h.dispose());
    free(batches);
  });

  it('a removed block that adds nothing gets T = I: the patched model is the plainly pruned one', async () => {
    const teacher = await tinyModel({ layers: 4, identity: [2], seed: 2 });
    const batches = await calibration(teacher);
    const { model, fits } = await linearPatch(teacher, [1, 1, 0, 1], batches, {
      lambda: 0,
      leadingSpan: 'embedding',
      who: 't',
    });
    const plain = cloneHandle(teacher, [0, 1, 3]);
    assert.ok(fits[0].mseRemoved < 1e-10 && fits[0].msePatched < 1e-10, JSON.stringify(fits[0]));
    const diff = maxAbsDiff(model.model.weights.layers[1].down, plain.model.weights.layers[1].down);
    assert.ok(diff < 1e-4, `down_proj moved by ${diff}`);
    [teacher, model, plain].forEach((h) => h.dispose());
    free(batches);
  });

  it('exports a checkpoint with the pruned model’s tensors only, which loads back with equal logits', async () => {
    const teacher = await tinyModel({ layers: 5, seed: 6 });
    const batches = await calibration(teacher);
    const { model } = await linearPatch(teacher, [1, 0, 1, 0, 1], batches, {
      lambda: 1e-3,
      leadingSpan: 'embedding',
      who: 't',
    });
    const plain = cloneHandle(teacher, [0, 2, 4]);
    const dir = await exportCheckpoint(model, join(tempDir(), 'patched'));
    const plainDir = await exportCheckpoint(plain, join(tempDir(), 'plain'));
    const names = (d: string) => {
      const buf = readFileSync(join(d, 'model.safetensors'));
      const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8'));
      return Object.keys(header)
        .filter((k) => k !== '__metadata__')
        .sort();
    };
    assert.deepEqual(names(dir), names(plainDir));
    const back = await loadCheckpoint(dir);
    const b = batches[0];
    const diff = tf.tidy(() =>
      maxAbsDiff(
        model.model.forward(b.ids, { attentionMask: b.attention }).logits,
        back.model.forward(b.ids, { attentionMask: b.attention }).logits,
      ),
    );
    assert.ok(diff <= 1e-6, `logits differ by ${diff}`);
    const moved = maxAbsDiff(model.model.weights.layers[0].down, plain.model.weights.layers[0].down);
    assert.ok(moved > 1e-3, 'the patch changed the down projection it folded into');
    [teacher, model, plain, back].forEach((h) => h.dispose());
    free(batches);
  });

  it('a span at layer 0: refused on a tied embedding, folded into an untied one, or skipped', async () => {
    const tied = await tinyModel({ layers: 3, seed: 1 });
    const batches = await calibration(tied);
    await assert.rejects(
      linearPatch(tied, [0, 1, 1], batches, { lambda: 1e-3, leadingSpan: 'embedding', who: 'node "patch"' }),
      (e: Error) => e instanceof UserError && /node "patch".*ties.*leadingSpan: skip/s.test(e.message),
    );
    const skipped = await linearPatch(tied, [0, 1, 1], batches, { lambda: 1e-3, leadingSpan: 'skip', who: 't' });
    assert.equal(skipped.fits[0].foldedInto, 'none');
    const auto = await linearPatch(tied, [0, 1, 1], batches, { lambda: 1e-3, leadingSpan: 'auto', who: 't' });
    assert.equal(auto.fits[0].foldedInto, 'none', 'auto skips on a tied embedding');
    auto.model.dispose();
    const plain = cloneHandle(tied, [1, 2]);
    assert.equal(maxAbsDiff(skipped.model.model.weights.embed, plain.model.weights.embed), 0);
    const free1 = [tied, skipped.model, plain];
    const teacher = await untied(3);
    const { model, fits } = await linearPatch(teacher, [0, 1, 1], batches, {
      lambda: 1e-3,
      leadingSpan: 'auto',
      who: 't',
    });
    assert.equal(fits[0].foldedInto, 'model.embed_tokens.weight', 'auto folds into an untied embedding');
    // The patched embedding's output against the teacher's stream after block 0.
    const measured = await streamMse(model, -1, teacher, 0, batches);
    assert.ok(Math.abs(measured - fits[0].msePatched) <= 1e-3 * measured, `${measured} vs ${fits[0].msePatched}`);
    assert.ok(fits[0].msePatched < fits[0].mseRemoved);
    [...free1, teacher, model].forEach((h) => h.dispose());
    free(batches);
  });
});
