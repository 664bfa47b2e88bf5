import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '@e3/core';
import { isPackedBf16, markPackedBf16, type PackedBf16 } from '@e3/native';
import type { LayerWeights } from './weights.js';
import { filledTensor } from './filled-tensor.js';

/**
 * Frozen weights in bf16 (`model.hfCheckpoint` param `frozenDtype: bfloat16`): a block's projection
 * weights [out, in] are kept as bf16 values, two to an int32 element ([out, in / 2], little-endian
 * pairs, typed and marked as PackedBf16: native/src/packed-bf16.ts), and the fused native block
 * converts them to f32 where it multiplies by them (cc/decoder_block.cc). Half the memory of a teacher's or a mask search's frozen model; such a
 * model runs forward and gives gradients to activations and to a layer mask, but does not train:
 * `cloneHandle` (and so `model.prune`) makes f32 weights again.
 */
export const FROZEN_DTYPES = ['float32', 'bfloat16'] as const;
export type FrozenDtype = (typeof FROZEN_DTYPES)[number];

/** The projection weights that may be kept in bf16. */
export const BF16_PROJECTIONS: readonly (keyof LayerWeights)[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];

/** HF names of the projection weights (the tensors `frozenDtype: bfloat16` keeps in bf16). */
export function isProjectionName(name: string): boolean {
  return /^model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)\.weight$/.test(name);
}

/** Whether any block of these layers keeps its projections in bf16. */
export function hasBf16Weights(layers: readonly LayerWeights[]): boolean {
  return layers.some((l) => BF16_PROJECTIONS.some((k) => l[k] && isPackedBf16(l[k]!)));
}

/**
 * `values` [out, in] (f32) as packed bf16 [out, in / 2], rounded to nearest even (exact for values
 * read from a bf16 file).
 */
export function packBf16(values: Float32Array, out: number, inner: number, where: string): PackedBf16 {
  if (inner % 2)
    throw new UserError(`${where}: bf16 packing needs an even inner size, got ${inner} (fix: frozenDtype: float32)`);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const packed = filledTensor(
    [out, inner / 2],
    (o) => {
      const halves = new Uint16Array(o.buffer, o.byteOffset, o.length * 2);
      for (let i = 0; i < bits.length; i++) {
        const b = bits[i];
        halves[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
      }
    },
    'int32',
  );
  return markPackedBf16(packed);
}

/** The f32 values [out × in] of packed bf16 `t` [out, in / 2] (exact: bf16 is the top half of an f32). */
export function unpackBf16Values(t: PackedBf16): Float32Array {
  const packed = t.dataSync() as Int32Array;
  const halves = new Uint16Array(packed.buffer, packed.byteOffset, packed.length * 2);
  const values = new Float32Array(halves.length);
  const bits = new Uint32Array(values.buffer);
  for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
  return values;
}

/** The f32 tensor [out, in] of packed bf16 `t` [out, in / 2]. */
export function unpackBf16(t: PackedBf16): tf.Tensor {
  return tf.tensor(unpackBf16Values(t), [t.shape[0], 2 * t.shape[1]!], 'float32');
}

/** Fails with a fix where a model with bf16 weights would be trained. */
export function refuseBf16Training(layers: readonly LayerWeights[], who: string): void {
  if (hasBf16Weights(layers))
    throw new UserError(
      `${who}: the model keeps frozen bf16 weights (model.hfCheckpoint frozenDtype: bfloat16), which do not train ` +
        '(fix: train a pruned copy (model.prune makes f32 weights), or load it with frozenDtype: float32)',
    );
}
