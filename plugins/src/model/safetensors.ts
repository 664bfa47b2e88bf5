import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UserError } from '@e3/core';

/** dtypes we read (to f32 in memory) and write. */
export const DTYPE_SIZES = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8, F64: 8, U8: 1, I8: 1, BOOL: 1, I16: 2, U16: 2, U32: 4, U64: 8 } as const;
export type SafetensorsDtype = keyof typeof DTYPE_SIZES;
export type FloatDtype = 'F32' | 'F16' | 'BF16';

/** One tensor's header entry. */
export interface TensorEntry { dtype: SafetensorsDtype; shape: number[]; data_offsets: [number, number] }

/** A parsed, validated safetensors file: tensors are read lazily. */
export interface SafetensorsFile {
  readonly path: string;
  readonly entries: ReadonlyMap<string, TensorEntry>;
  readonly metadata: Record<string, string>;
  /** Reads one tensor and converts it to float32. */
  readFloat32(name: string): Float32Array;
}

/** The reference implementation's bound on the JSON header (100 MB). */
const MAX_HEADER = 100_000_000;

function fail(path: string, msg: string, fix?: string): never {
  throw new UserError(`${path}: ${msg}${fix ? ` (${fix})` : ''}`);
}

/**
 * Opens a safetensors file and validates its header as the reference implementation does:
 * header length bounded and inside the file, JSON object, known dtypes, shapes of
 * non-negative integers, offsets in bounds, contiguous and non-overlapping from 0 to the
 * end of the data, and bytes = product(shape) × dtype size. Nothing large is allocated
 * before the header is checked.
 */
export function openSafetensors(path: string): SafetensorsFile {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { fail(path, 'cannot open file', 'check that the checkpoint directory is complete'); }
  try {
    const size = fstatSync(fd).size;
    if (size < 8) fail(path, `file is ${size} bytes, too short for a safetensors header (truncated?)`);
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = lenBuf.readBigUInt64LE(0);
    if (headerLen > BigInt(MAX_HEADER)) fail(path, `header length ${headerLen} exceeds the ${MAX_HEADER}-byte limit (corrupt file?)`);
    if (Number(headerLen) + 8 > size) fail(path, `header length ${headerLen} runs past the end of the ${size}-byte file (truncated?)`);
    const headerBuf = Buffer.alloc(Number(headerLen));
    readSync(fd, headerBuf, 0, headerBuf.length, 8);
    let header: unknown;
    try { header = JSON.parse(headerBuf.toString('utf8')); } catch (e) { fail(path, `header is not valid JSON: ${(e as Error).message}`); }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) fail(path, 'header must be a JSON object');
    const dataStart = 8 + Number(headerLen);
    const dataLen = size - dataStart;
    const entries = new Map<string, TensorEntry>();
    let metadata: Record<string, string> = {};
    for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') { metadata = (raw ?? {}) as Record<string, string>; continue; }
      const e = raw as Partial<TensorEntry>;
      if (!e || typeof e !== 'object') fail(path, `tensor "${name}": header entry is not an object`);
      if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_SIZES)) fail(path, `tensor "${name}": unknown dtype ${JSON.stringify(e.dtype)}`, `known: ${Object.keys(DTYPE_SIZES).join(', ')}`);
      if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) fail(path, `tensor "${name}": shape must be a list of non-negative integers`);
      const off = e.data_offsets;
      if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) || off[0] > off[1]) fail(path, `tensor "${name}": data_offsets must be [begin, end] with 0 ≤ begin ≤ end`);
      if (off[1] > dataLen) fail(path, `tensor "${name}": data ends at byte ${off[1]} but the file holds ${dataLen} data bytes (truncated?)`);
      const numel = e.shape.reduce((a, b) => a * b, 1);
      const want = numel * DTYPE_SIZES[e.dtype as SafetensorsDtype];
      if (off[1] - off[0] !== want) fail(path, `tensor "${name}": ${off[1] - off[0]} bytes for shape [${e.shape}] ${e.dtype}, which needs ${want}`);
      entries.set(name, { dtype: e.dtype as SafetensorsDtype, shape: e.shape, data_offsets: off as [number, number] });
    }
    const sorted = [...entries.entries()].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1]);
    let cursor = 0;
    for (const [name, e] of sorted) {
      if (e.data_offsets[0] !== cursor) fail(path, `tensor "${name}": data starts at ${e.data_offsets[0]}, expected ${cursor} (${e.data_offsets[0] < cursor ? 'overlaps the previous tensor' : 'gap in the data'})`);
      cursor = e.data_offsets[1];
    }
    if (cursor !== dataLen) fail(path, `tensors cover ${cursor} data bytes but the file has ${dataLen} (trailing bytes or truncated header)`);
    closeSync(fd);
    return {
      path, entries, metadata,
      readFloat32(name: string): Float32Array {
        const e = entries.get(name);
        if (!e) fail(path, `no tensor "${name}"`);
        const bytes = Buffer.alloc(e.data_offsets[1] - e.data_offsets[0]);
        const f = openSync(path, 'r');
        try { readSync(f, bytes, 0, bytes.length, dataStart + e.data_offsets[0]); } finally { closeSync(f); }
        return toFloat32(bytes, e.dtype, `${path}: tensor "${name}"`);
      },
    };
  } catch (e) {
    try { closeSync(fd); } catch { /* already closed */ }
    throw e;
  }
}

/** Converts little-endian bytes of a float dtype to float32. */
export function toFloat32(bytes: Buffer, dtype: SafetensorsDtype, what: string): Float32Array {
  const n = bytes.length / DTYPE_SIZES[dtype];
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32': out.set(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))); break;
    case 'F64': for (let i = 0; i < n; i++) out[i] = bytes.readDoubleLE(i * 8); break;
    case 'F16': for (let i = 0; i < n; i++) out[i] = halfToFloat(bytes.readUInt16LE(i * 2)); break;
    case 'BF16': {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = bytes.readUInt16LE(i * 2) << 16;
      break;
    }
    default: throw new UserError(`${what}: dtype ${dtype} is not a float type; model weights must be F32, F16 or BF16`);
  }
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    if ((mant >> (shift - 1)) & 1 && ((mant & ((1 << (shift - 1)) - 1)) || half & 1)) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >> 13);
  if (mant & 0x1000 && (mant & 0xfff || half & 1)) half++;
  return half;
}

function floatToBf16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  if ((x & 0x7fffffff) > 0x7f800000) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Encodes float32 values in a float dtype, little-endian, round-to-nearest-even. */
export function fromFloat32(values: Float32Array, dtype: FloatDtype): Buffer {
  const size = DTYPE_SIZES[dtype];
  const out = Buffer.alloc(values.length * size);
  if (dtype === 'F32') Buffer.from(values.buffer, values.byteOffset, values.byteLength).copy(out);
  else if (dtype === 'F16') for (let i = 0; i < values.length; i++) out.writeUInt16LE(floatToHalf(values[i]), i * 2);
  else for (let i = 0; i < values.length; i++) out.writeUInt16LE(floatToBf16(values[i]), i * 2);
  return out;
}

/** Serialises named float32 tensors to safetensors bytes (header padded to 8 bytes, as the reference does). */
export function encodeSafetensors(tensors: ReadonlyMap<string, { shape: number[]; data: Float32Array }>, dtype: FloatDtype, metadata: Record<string, string> = { format: 'pt' }): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const parts: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of [...tensors.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    const bytes = fromFloat32(t.data, dtype);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...parts]);
}
