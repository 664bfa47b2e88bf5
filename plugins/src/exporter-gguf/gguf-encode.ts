import { floatToHalf, fromFloat32 } from '../model/safetensors.js';
import type { GgmlType } from './gguf-file.js';

/**
 * Q8_0 as ggml defines it: blocks of 32 values, each an f16 scale d = max|x| / 127 followed by
 * 32 int8 round(x / d) (rounded half away from zero, in float32 as ggml's reference does).
 */
export function quantizeQ8_0(values: Float32Array): Uint8Array {
  if (values.length % 32) throw new Error(`Q8_0 needs a multiple of 32 values (got ${values.length})`);
  const blocks = values.length / 32;
  const out = new Uint8Array(blocks * 34);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(values[b * 32 + j]));
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    view.setUint16(b * 34, floatToHalf(d), true);
    for (let j = 0; j < 32; j++) {
      const x = Math.fround(values[b * 32 + j] * id);
      view.setInt8(b * 34 + 2 + j, Math.sign(x) * Math.round(Math.abs(x)));
    }
  }
  return out;
}

/** A tensor's float32 values in a ggml type (little-endian). */
export function encodeValues(values: Float32Array, type: GgmlType): Uint8Array {
  return type === 'Q8_0' ? quantizeQ8_0(values) : fromFloat32(values, type);
}
