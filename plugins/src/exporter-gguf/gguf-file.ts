import { closeSync, openSync, writeSync } from 'node:fs';

/** GGUF metadata value types (the file format's numbering). */
const VALUE_TYPE = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 } as const;

/** A metadata value: a scalar, or an array of one scalar type. */
export type GgufValue =
  | { type: 'u32' | 'i32' | 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; of: 'u32' | 'i32' | 'f32' | 'string'; values: readonly (number | string)[] };

export const u32 = (value: number): GgufValue => ({ type: 'u32', value });
export const f32 = (value: number): GgufValue => ({ type: 'f32', value });
export const bool = (value: boolean): GgufValue => ({ type: 'bool', value });
export const str = (value: string): GgufValue => ({ type: 'string', value });
export const arr = (of: 'u32' | 'i32' | 'f32' | 'string', values: readonly (number | string)[]): GgufValue => ({
  type: 'array',
  of,
  values,
});

/** ggml tensor types written by the exporter, with their block size and bytes per block. */
export const GGML_TYPES = {
  F32: { id: 0, block: 1, bytes: 4 },
  F16: { id: 1, block: 1, bytes: 2 },
  Q8_0: { id: 8, block: 32, bytes: 34 },
  BF16: { id: 30, block: 1, bytes: 2 },
} as const;
export type GgmlType = keyof typeof GGML_TYPES;

/** One tensor of a GGUF file: its shape in row-major (numpy) order and how to get its encoded bytes. */
export interface GgufTensor {
  name: string;
  shape: readonly number[];
  type: GgmlType;
  /** The tensor's bytes in `type` (called once, when its turn comes). */
  bytes: () => Promise<Uint8Array>;
}

/** Bytes of a tensor of `shape` stored as `type`. */
export function tensorBytes(shape: readonly number[], type: GgmlType): number {
  const n = shape.reduce((a, b) => a * b, 1);
  const t = GGML_TYPES[type];
  return (n / t.block) * t.bytes;
}

/** Little-endian byte sink that grows as needed. */
class ByteWriter {
  private buf = Buffer.alloc(1 << 16);
  private at = 0;

  private room(n: number) {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
  u32(v: number) {
    this.room(4);
    this.at = this.buf.writeUInt32LE(v, this.at);
  }
  i32(v: number) {
    this.room(4);
    this.at = this.buf.writeInt32LE(v, this.at);
  }
  u64(v: number) {
    this.room(8);
    this.at = this.buf.writeBigUInt64LE(BigInt(v), this.at);
  }
  f32(v: number) {
    this.room(4);
    this.at = this.buf.writeFloatLE(v, this.at);
  }
  u8(v: number) {
    this.room(1);
    this.at = this.buf.writeUInt8(v, this.at);
  }
  string(s: string) {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.room(b.length);
    this.at += b.copy(this.buf, this.at);
  }
  pad(alignment: number) {
    const n = (alignment - (this.at % alignment)) % alignment;
    this.room(n);
    this.buf.fill(0, this.at, this.at + n);
    this.at += n;
  }
  get bytes(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

function writeScalar(w: ByteWriter, type: 'u32' | 'i32' | 'f32' | 'string', v: number | string) {
  if (type === 'string') w.string(v as string);
  else w[type](v as number);
}

function writeValue(w: ByteWriter, v: GgufValue) {
  w.u32(VALUE_TYPE[v.type]);
  if (v.type === 'array') {
    w.u32(VALUE_TYPE[v.of]);
    w.u64(v.values.length);
    for (const x of v.values) writeScalar(w, v.of, x);
  } else if (v.type === 'bool') w.u8(v.value ? 1 : 0);
  else writeScalar(w, v.type, v.value);
}

/** The default alignment of tensor data in GGUF (general.alignment). */
export const GGUF_ALIGNMENT = 32;

/**
 * Writes a GGUF v3 file: header, metadata, tensor infos (dimensions innermost first, as ggml
 * counts them), then each tensor's data at an offset aligned to {@link GGUF_ALIGNMENT}, encoded
 * one tensor at a time. Returns the file size.
 */
export async function writeGguf(
  file: string,
  metadata: readonly [string, GgufValue][],
  tensors: readonly GgufTensor[],
  progress?: (done: number) => void,
): Promise<number> {
  const w = new ByteWriter();
  w.u32(0x46554747); // "GGUF"
  w.u32(3);
  w.u64(tensors.length);
  w.u64(metadata.length);
  for (const [key, value] of metadata) {
    w.string(key);
    writeValue(w, value);
  }
  let offset = 0;
  const align = (n: number) => Math.ceil(n / GGUF_ALIGNMENT) * GGUF_ALIGNMENT;
  for (const t of tensors) {
    w.string(t.name);
    w.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) w.u64(d);
    w.u32(GGML_TYPES[t.type].id);
    w.u64(offset);
    offset = align(offset + tensorBytes(t.shape, t.type));
  }
  w.pad(GGUF_ALIGNMENT);
  const fd = openSync(file, 'w');
  let size = 0;
  const put = (b: Uint8Array) => {
    for (let done = 0; done < b.length;) done += writeSync(fd, b, done, b.length - done);
    size += b.length;
  };
  try {
    put(w.bytes);
    for (const [i, t] of tensors.entries()) {
      const b = await t.bytes();
      const expected = tensorBytes(t.shape, t.type);
      if (b.length !== expected) throw new Error(`GGUF tensor ${t.name}: ${b.length} bytes, expected ${expected}`);
      put(b);
      const pad = align(b.length) - b.length;
      if (pad && i < tensors.length - 1) put(new Uint8Array(pad));
      progress?.(i + 1);
    }
  } finally {
    closeSync(fd);
  }
  return size;
}
