import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { UserError } from '@e3/core';

/** dtypes we read (to f32 in memory) and write. */
export const DTYPE_SIZES = {
  F32: 4,
  F16: 2,
  BF16: 2,
  I32: 4,
  I64: 8,
  F64: 8,
  U8: 1,
  I8: 1,
  BOOL: 1,
  I16: 2,
  U16: 2,
  U32: 4,
  U64: 8,
} as const;
export type SafetensorsDtype = keyof typeof DTYPE_SIZES;
export type FloatDtype = 'F32' | 'F16' | 'BF16';

/** One tensor's header entry. */
export interface TensorEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  data_offsets: [number, number];
}

/** A parsed, validated safetensors file: tensors are read lazily. */
export interface SafetensorsFile {
  readonly path: string;
  readonly entries: ReadonlyMap<string, TensorEntry>;
  readonly metadata: Record<string, string>;
  /** Reads one tensor and converts it to float32. */
  readFloat32(name: string): Float32Array;
  /**
   * Reads one tensor into `out` (its element count long) as float32, in chunks through one
   * reused buffer; returns the index of its first non-finite value, or -1.
   */
  readFloat32Into(name: string, out: Float32Array): number;
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
  try {
    fd = openSync(path, 'r');
  } catch {
    fail(path, 'cannot open file', 'check that the checkpoint directory is complete');
  }
  try {
    const { header, dataStart, dataLen } = readHeader(fd, path);
    const entries = new Map<string, TensorEntry>();
    let metadata: Record<string, string> = {};
    for (const [name, raw] of Object.entries(header)) {
      if (name === '__metadata__') metadata = (raw ?? {}) as Record<string, string>;
      else entries.set(name, checkedEntry(path, name, raw, dataLen));
    }
    checkContiguous(path, entries, dataLen);
    closeSync(fd);
    const entry = (name: string): TensorEntry => entries.get(name) ?? fail(path, `no tensor "${name}"`);
    return {
      path,
      entries,
      metadata,
      readFloat32(name: string): Float32Array {
        const out = new Float32Array(numel(entry(name).shape));
        this.readFloat32Into(name, out);
        return out;
      },
      readFloat32Into(name: string, out: Float32Array): number {
        const e = entry(name);
        const [begin, end] = e.data_offsets;
        const span = { position: dataStart + begin, length: end - begin };
        return readInto(path, span, e.dtype, out, `${path}: tensor "${name}"`);
      },
    };
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
    throw e;
  }
}

/** The JSON header of open file `fd`, checked to fit the file, and where its data begins and how long it is. */
function readHeader(fd: number, path: string): { header: Record<string, unknown>; dataStart: number; dataLen: number } {
  const size = fstatSync(fd).size;
  if (size < 8) fail(path, `file is ${size} bytes, too short for a safetensors header (truncated?)`);
  const lenBuf = Buffer.alloc(8);
  readSync(fd, lenBuf, 0, 8, 0);
  const headerLen = lenBuf.readBigUInt64LE(0);
  if (headerLen > BigInt(MAX_HEADER))
    fail(path, `header length ${headerLen} exceeds the ${MAX_HEADER}-byte limit (corrupt file?)`);
  if (Number(headerLen) + 8 > size)
    fail(path, `header length ${headerLen} runs past the end of the ${size}-byte file (truncated?)`);
  const headerBuf = Buffer.alloc(Number(headerLen));
  readSync(fd, headerBuf, 0, headerBuf.length, 8);
  let header: unknown;
  try {
    header = JSON.parse(headerBuf.toString('utf8'));
  } catch (e) {
    fail(path, `header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    fail(path, 'header must be a JSON object');
  const dataStart = 8 + Number(headerLen);
  return { header: header as Record<string, unknown>, dataStart, dataLen: size - dataStart };
}

/** Header entry `raw` of tensor `name`, checked: a known dtype, a shape, and offsets within `dataLen` that fit both. */
function checkedEntry(path: string, name: string, raw: unknown, dataLen: number): TensorEntry {
  const e = raw as Partial<TensorEntry>;
  if (!e || typeof e !== 'object') fail(path, `tensor "${name}": header entry is not an object`);
  if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_SIZES))
    fail(
      path,
      `tensor "${name}": unknown dtype ${JSON.stringify(e.dtype)}`,
      `known: ${Object.keys(DTYPE_SIZES).join(', ')}`,
    );
  if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0))
    fail(path, `tensor "${name}": shape must be a list of non-negative integers`);
  const off = e.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) || off[0] > off[1])
    fail(path, `tensor "${name}": data_offsets must be [begin, end] with 0 ≤ begin ≤ end`);
  if (off[1] > dataLen)
    fail(path, `tensor "${name}": data ends at byte ${off[1]} but the file holds ${dataLen} data bytes (truncated?)`);
  const want = numel(e.shape) * DTYPE_SIZES[e.dtype as SafetensorsDtype];
  if (off[1] - off[0] !== want)
    fail(path, `tensor "${name}": ${off[1] - off[0]} bytes for shape [${e.shape}] ${e.dtype}, which needs ${want}`);
  return { dtype: e.dtype as SafetensorsDtype, shape: e.shape, data_offsets: off as [number, number] };
}

/** Fails unless the tensors' data lie end to end from 0 to `dataLen`, without gaps or overlaps. */
function checkContiguous(path: string, entries: Map<string, TensorEntry>, dataLen: number): void {
  const sorted = [...entries.entries()].sort(
    (a, b) => a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1],
  );
  let cursor = 0;
  for (const [name, e] of sorted) {
    if (e.data_offsets[0] !== cursor)
      fail(
        path,
        `tensor "${name}": data starts at ${e.data_offsets[0]}, expected ${cursor} (${e.data_offsets[0] < cursor ? 'overlaps the previous tensor' : 'gap in the data'})`,
      );
    cursor = e.data_offsets[1];
  }
  if (cursor !== dataLen)
    fail(path, `tensors cover ${cursor} data bytes but the file has ${dataLen} (trailing bytes or truncated header)`);
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Bytes read per chunk: a multiple of every dtype size; the buffer is allocated once. */
const CHUNK_BYTES = 1 << 24;
let chunkBuffer: Buffer | undefined;

/** Reads the bytes of `span` in `path` and converts them into `out`; first non-finite index or -1. */
function readInto(
  path: string,
  span: { position: number; length: number },
  dtype: SafetensorsDtype,
  out: Float32Array,
  what: string,
): number {
  const { position, length } = span;
  const size = DTYPE_SIZES[dtype];
  if (out.length * size !== length) {
    throw new Error(`${what}: output holds ${out.length} values, the tensor ${length / size}`);
  }
  // Its own ArrayBuffer at offset 0, so typed-array views of it are aligned.
  chunkBuffer ??= Buffer.allocUnsafeSlow(CHUNK_BYTES);
  const buf = chunkBuffer;
  const fd = openSync(path, 'r');
  let bad = -1;
  try {
    for (let done = 0; done < length;) {
      const want = Math.min(CHUNK_BYTES, length - done);
      let got = 0;
      while (got < want) {
        const n = readSync(fd, buf, got, want - got, position + done + got);
        if (n === 0) throw new UserError(`${what}: the file ends before its data (truncated while reading?)`);
        got += n;
      }
      const b = convertInto(buf.subarray(0, want), dtype, out, done / size, what);
      if (bad < 0 && b >= 0) bad = done / size + b;
      done += want;
    }
  } finally {
    closeSync(fd);
  }
  return bad;
}

/** Typed-array views read the platform's byte order; safetensors is little-endian. */
const LITTLE_ENDIAN = endianness() === 'LE';
let halfTable: Float32Array | undefined;

/**
 * Converts little-endian `bytes` of a float dtype into `out` from element `at`; returns the
 * index (in `bytes`) of the first non-finite value, or -1. bf16 is the top half of a float32
 * (a shift); f16 goes through a 65,536-entry table; non-finite values are found from their
 * exponent bits, in the same pass.
 */
function convertInto(bytes: Uint8Array, dtype: SafetensorsDtype, out: Float32Array, at: number, what: string): number {
  const n = bytes.length / DTYPE_SIZES[dtype];
  let bad = -1;
  if (dtype === 'F64') {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let i = 0; i < n; i++) {
      out[at + i] = view.getFloat64(i * 8, true);
      if (bad < 0 && !Number.isFinite(out[at + i])) bad = i;
    }
    return bad;
  }
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') {
    throw new UserError(`${what}: dtype ${dtype} is not a float type; model weights must be F32, F16 or BF16`);
  }
  if (!LITTLE_ENDIAN) throw new UserError(`${what}: reading ${dtype} weights needs a little-endian machine`);
  if (bytes.byteOffset % 4) bytes = new Uint8Array(bytes); // an aligned copy
  const o = new Uint32Array(out.buffer, out.byteOffset + at * 4, n);
  if (dtype === 'F32') {
    const s = new Uint32Array(bytes.buffer, bytes.byteOffset, n);
    o.set(s);
    for (let i = 0; i < n; i++) if ((s[i] & 0x7f800000) === 0x7f800000) return i;
    return -1;
  }
  if (dtype === 'BF16') return bf16Into(bytes, o, n);
  const s = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  const t = halfTable;
  const f = new Float32Array(out.buffer, out.byteOffset + at * 4, n);
  for (let i = 0; i < n; i++) {
    const h = s[i];
    f[i] = t[h];
    if ((h & 0x7c00) === 0x7c00 && bad < 0) bad = i;
  }
  return bad;
}

/**
 * bf16 → float32 bits, two values per 32-bit load (twice as fast as one by one in V8): the low
 * half goes up 16 bits, the high half is masked in place. A value is non-finite when its
 * exponent bits are all set.
 */
function bf16Into(bytes: Uint8Array, o: Uint32Array, n: number): number {
  const pairs = n >> 1;
  const s = new Uint32Array(bytes.buffer, bytes.byteOffset, pairs);
  let bad = -1;
  for (let j = 0, k = 0; j < pairs; j++, k += 2) {
    const w = s[j];
    o[k] = w << 16;
    o[k + 1] = w & 0xffff0000;
    if (((w & 0x7f80) === 0x7f80 || (w & 0x7f800000) === 0x7f800000) && bad < 0) {
      bad = (w & 0x7f80) === 0x7f80 ? k : k + 1;
    }
  }
  if (n & 1) {
    const h = bytes[2 * n - 2] | (bytes[2 * n - 1] << 8);
    o[n - 1] = h << 16;
    if ((h & 0x7f80) === 0x7f80 && bad < 0) bad = n - 1;
  }
  return bad;
}

/** Converts little-endian bytes of a float dtype to float32. */
export function toFloat32(bytes: Buffer, dtype: SafetensorsDtype, what: string): Float32Array {
  const out = new Float32Array(bytes.length / DTYPE_SIZES[dtype]);
  convertInto(bytes, dtype, out, 0, what);
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

/** IEEE half bits of a float, round-to-nearest-even. */
export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    if ((mant >> (shift - 1)) & 1 && (mant & ((1 << (shift - 1)) - 1) || half & 1)) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >> 13);
  if (mant & 0x1000 && (mant & 0xfff || half & 1)) half++;
  return half;
}

/** Encodes float32 values in a float dtype, little-endian, round-to-nearest-even. */
export function fromFloat32(values: Float32Array, dtype: FloatDtype): Buffer {
  const size = DTYPE_SIZES[dtype];
  // Its own ArrayBuffer at offset 0, so the Uint16Array view below is aligned.
  const out = Buffer.allocUnsafeSlow(values.length * size);
  if (dtype === 'F32') {
    Buffer.from(values.buffer, values.byteOffset, values.byteLength).copy(out);
    return out;
  }
  if (!LITTLE_ENDIAN) throw new UserError(`writing ${dtype} weights needs a little-endian machine`);
  const o = new Uint16Array(out.buffer, out.byteOffset, values.length);
  if (dtype === 'F16') {
    for (let i = 0; i < values.length; i++) o[i] = floatToHalf(values[i]);
    return out;
  }
  const u = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < u.length; i++) {
    const x = u[i];
    o[i] = (x & 0x7fffffff) > 0x7f800000 ? (x >>> 16) | 0x40 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** Names and shapes of float32 tensors to be written. */
export type TensorShapes = Iterable<[string, { shape: readonly number[] }]>;

/**
 * The 8-byte length and JSON header of a safetensors file holding `tensors` (in name order,
 * header padded to 8 bytes with spaces, as the reference does), and the order of the data.
 */
function safetensorsHeader(
  tensors: TensorShapes,
  dtype: FloatDtype,
  metadata: Record<string, string>,
): { head: Buffer; order: string[] } {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const sorted = [...tensors].sort((a, b) => a[0].localeCompare(b[0]));
  let offset = 0;
  for (const [name, t] of sorted) {
    const bytes = numel(t.shape) * DTYPE_SIZES[dtype];
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return { head: Buffer.concat([len, json]), order: sorted.map(([name]) => name) };
}

/** Serialises named float32 tensors to safetensors bytes (header padded to 8 bytes, as the reference does). */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, { shape: number[]; data: Float32Array }>,
  dtype: FloatDtype,
  metadata: Record<string, string> = { format: 'pt' },
): Buffer {
  const { head, order } = safetensorsHeader(tensors, dtype, metadata);
  return Buffer.concat([head, ...order.map((name) => fromFloat32(tensors.get(name)!.data, dtype))]);
}

/**
 * Writes a safetensors file tensor by tensor: the header from the shapes, then each tensor's
 * values, fetched by `read` only when their turn comes, so that no more than one tensor's
 * bytes are held at a time (none for F32: they are written from the tensor's own memory).
 * Returns the file's size.
 */
export async function writeSafetensors(
  file: string,
  tensors: TensorShapes,
  dtype: FloatDtype,
  read: (name: string) => Promise<Float32Array>,
  metadata: Record<string, string> = { format: 'pt' },
): Promise<number> {
  const { head, order } = safetensorsHeader(tensors, dtype, metadata);
  const fd = openSync(file, 'w');
  let size = 0;
  const write = (bytes: Buffer) => {
    for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done);
    size += bytes.length;
  };
  try {
    write(head);
    for (const name of order) {
      const values = await read(name);
      // F32 on a little-endian machine: the values' own bytes, without a copy (622 MB for Qwen3's embedding).
      const view = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
      write(dtype === 'F32' && LITTLE_ENDIAN ? view : fromFloat32(values, dtype));
    }
  } finally {
    closeSync(fd);
  }
  return size;
}
