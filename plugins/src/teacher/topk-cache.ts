import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  statSync,
  unlinkSync,
  writeSync,
  fstatSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { pidAlive, stopPoint } from '@e3/core';
import { encodeBatch, textCodec, type Batch, type TextCodec } from '../data/batch.js';
import type { Example } from '../data/dataset.js';
import type { ModelHandle } from '../model/handle.js';
import { teacherTopK } from '../model/chunked-head.js';

/** Teacher targets aligned with a batch: per position, top-k ids and log-probs, and entropy. */
export interface TeacherTargets {
  /** [B, T, k] int32 */
  readonly ids: tf.Tensor3D;
  /** [B, T, k] teacher log-probabilities of those ids */
  readonly logProbs: tf.Tensor3D;
  /** [B, T] full-vocabulary entropy of the teacher (nats) */
  readonly entropy: tf.Tensor2D;
}

/** One example's teacher record: per position, top-k ids and log-probs, and entropy. */
interface TeacherRecord {
  ids: Int32Array;
  logProbs: Float32Array;
  entropy: Float32Array;
}

/** How the cache computes missing targets. */
export interface CacheBatches {
  /** Examples per teacher forward pass (default 128). */
  readonly batchSize: number;
  /** Token rows per chunk of the output head (0, the default: automatic; chunked-head.ts). */
  readonly chunkTokens: number;
}

/**
 * The teacher cache (METHOD.md Stage 2, "economical"): per token, the frozen teacher's top-k
 * ids and log-probs plus its full-vocabulary entropy, computed at most once per example and
 * appended to a file under `dir/<fingerprint>/`. The fingerprint hashes the teacher's
 * weights, tokenizer, k and the dataset, so a later run with the same model, data and k
 * reuses the files. Only file offsets stay in memory, so memory does not grow with the data.
 * Each process appends to a file of its own (`targets-<host>-<pid>-<time>-<n>.bin`, created on
 * its first write) and reads everyone's, so runs sharing a cache in parallel never write over
 * each other; empty files of processes that have exited are removed when a cache opens.
 */
export class TeacherCache {
  /** key → [file descriptor, offset]. */
  private readonly offsets = new Map<string, [number, number]>();
  private readonly fds: number[] = [];
  /** This process's file, opened on the first append. */
  private fd?: number;
  private size = 0;
  private readonly folder: string;
  /** How the teacher encodes examples (it counts the records cut to the teacher's context). */
  readonly codec: TextCodec & { cut: Set<string> };
  /** Examples whose targets this run computed with the teacher (and appended to the cache). */
  computed = 0;
  /** Examples whose targets came from the files (computed by this or an earlier run). */
  reused = 0;
  /** Batched teacher forward passes this run made. */
  teacherForwards = 0;
  private disposed = false;

  /** Meters of top-k coverage that {@link targets} feeds (see {@link meterCoverage}). */
  private readonly meters = new Set<CoverageMeter>();

  /** Hash of the teacher's weights and tokenizer, k and the data's {@link Dataset.fingerprint}: the folder name. */
  readonly fingerprint: string;
  /** Hashes the teacher alone (weights, config, tokenizer): {@link teacherKey} of another handle matches it when the weights are the same. */
  readonly teacherKey: string;
  /** The fingerprint of the dataset the cache was opened for. */
  readonly dataFingerprint: string;

  private constructor(
    /** The teacher whose targets these are. */
    readonly teacher: ModelHandle,
    /** Targets per token: the teacher's top-k ids and log-probabilities. */
    readonly k: number,
    keys: Pick<TeacherCache, 'fingerprint' | 'teacherKey' | 'dataFingerprint'>,
    dir: string,
    private readonly sizes: CacheBatches,
  ) {
    ({ fingerprint: this.fingerprint, teacherKey: this.teacherKey, dataFingerprint: this.dataFingerprint } = keys);
    this.folder = join(dir, this.fingerprint);
    this.codec = textCodec(teacher, 'teacher.topkCache');
    const names = existsSync(this.folder) ? readdirSync(this.folder) : [];
    for (const f of names.filter((n) => /^targets.*\.bin$/.test(n))) {
      const path = join(this.folder, f);
      if (statSync(path).size === 0) {
        removeIfAbandoned(path, f);
        continue;
      }
      const fd = openSync(path, 'r');
      this.fds.push(fd);
      this.scan(fd);
    }
  }

  /** This process's file, created (with its folder) on the first write, so a failed run leaves nothing behind. */
  private ownFile(): number {
    if (this.fd === undefined) {
      mkdirSync(this.folder, { recursive: true });
      this.fd = openSync(join(this.folder, `targets-${HOST}-${process.pid}-${Date.now()}-${++opened}.bin`), 'wx+');
      this.fds.push(this.fd);
    }
    return this.fd;
  }

  /** Opens (or creates) the cache for this teacher, data fingerprint and k. Retains the teacher. */
  static async open(
    teacher: ModelHandle,
    dataFingerprint: string,
    k: number,
    dir: string,
    sizes: Partial<CacheBatches> = {},
  ): Promise<TeacherCache> {
    const hash = createHash('sha256');
    hash.update(
      JSON.stringify({
        k,
        data: dataFingerprint,
        config: teacher.model.config,
        tok: teacher.tokenizerFiles?.['tokenizer.json'] ?? null,
      }),
    );
    const own = teacherHash(teacher);
    for (const [name, v] of teacher.model.named()) {
      const bytes = new Uint8Array(((await v.data()) as Float32Array).buffer);
      for (const h of [hash, own]) h.update(name).update(bytes);
    }
    const key = own.digest('hex').slice(0, 16);
    const fp = hash.digest('hex').slice(0, 16);
    const batches = { batchSize: 128, chunkTokens: 0, ...sizes };
    const keys = { fingerprint: fp, teacherKey: key, dataFingerprint };
    return new TeacherCache(teacher.retain(), k, keys, dir, batches);
  }

  /**
   * Starts measuring the share of the teacher's probability that the stored top-k covers, Σ_k p_k, over
   * the positions that carry a label in the batches {@link targets} serves from now on (the tokens a
   * loss uses). Close the meter when done.
   */
  meterCoverage(): CoverageMeter {
    const m: CoverageMeter = { tokens: 0, sum: 0, min: Infinity, close: () => this.meters.delete(m) };
    this.meters.add(m);
    return m;
  }

  /** Examples with targets in the files (all processes'), as indexed so far. */
  get cachedExamples(): number {
    return this.offsets.size;
  }

  /** Reads the index of complete records of one file; a torn tail (killed mid-write) is ignored. */
  private scan(fd: number): void {
    const total = fstatSync(fd).size;
    const head = Buffer.alloc(8);
    let pos = 0;
    while (pos + 8 <= total) {
      readSync(fd, head, 0, 8, pos);
      const keyLen = head.readUInt32LE(0);
      const n = head.readUInt32LE(4);
      const len = 8 + keyLen + n * (8 * this.k + 4);
      if (pos + len > total) break;
      const key = Buffer.alloc(keyLen);
      readSync(fd, key, 0, keyLen, pos + 8);
      this.offsets.set(key.toString('utf8'), [fd, pos]);
      pos += len;
    }
  }

  private read(key: string): TeacherRecord {
    const [fd, pos] = this.offsets.get(key)!;
    const head = Buffer.alloc(8);
    readSync(fd, head, 0, 8, pos);
    const keyLen = head.readUInt32LE(0);
    const n = head.readUInt32LE(4);
    const body = Buffer.alloc(n * (8 * this.k + 4));
    readSync(fd, body, 0, body.length, pos + 8 + keyLen);
    const ab = body.buffer.slice(body.byteOffset, body.byteOffset + body.length);
    return {
      ids: new Int32Array(ab, 0, n * this.k),
      logProbs: new Float32Array(ab, 4 * n * this.k, n * this.k),
      entropy: new Float32Array(ab, 8 * n * this.k, n),
    };
  }

  private append(key: string, r: TeacherRecord): void {
    const k = Buffer.from(key, 'utf8');
    const head = Buffer.alloc(8);
    head.writeUInt32LE(k.length, 0);
    head.writeUInt32LE(r.entropy.length, 4);
    const rec = Buffer.concat([
      head,
      k,
      Buffer.from(r.ids.buffer, r.ids.byteOffset, r.ids.byteLength),
      Buffer.from(r.logProbs.buffer, r.logProbs.byteOffset, r.logProbs.byteLength),
      Buffer.from(r.entropy.buffer, r.entropy.byteOffset, r.entropy.byteLength),
    ]);
    const fd = this.ownFile();
    writeSync(fd, rec, 0, rec.length, this.size);
    this.offsets.set(key, [fd, this.size]);
    this.size += rec.length;
  }

  /**
   * Runs the teacher on the examples not yet cached (in batches) and stores their records;
   * `progress(done, total)` is called before the first batch and after each. When `signal` is
   * aborted it throws CancelledError before the next batch: the records written so far stay.
   */
  async ensure(
    examples: readonly Example[],
    progress?: (done: number, total: number) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const seen = new Set<string>();
    const missing = examples.filter((e) => {
      const key = keyOf(e);
      if (this.offsets.has(key) || seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (missing.length) progress?.(0, missing.length);
    for (let i = 0; i < missing.length; i += this.sizes.batchSize) {
      await stopPoint(signal);
      const chunk = missing.slice(i, i + this.sizes.batchSize);
      const h = this.teacher;
      const batch = encodeBatch(chunk, this.codec, true);
      const [top, lp, ent] = tf.tidy(() => {
        const ids = tf.tensor2d(batch.ids, undefined, 'int32');
        const { final } = h.model.forwardFinal(ids, { attentionMask: tf.tensor2d(batch.attention) });
        const r = teacherTopK(final, h.model.headWeight, this.k, this.sizes.chunkTokens);
        return [r.ids, r.logProbs, r.entropy];
      });
      this.teacherForwards++;
      const [ids, logProbs, entropy] = [
        (await top.data()) as Int32Array,
        (await lp.data()) as Float32Array,
        (await ent.data()) as Float32Array,
      ];
      [top, lp, ent].forEach((t) => t.dispose());
      const t = batch.ids[0].length;
      chunk.forEach((e, b) => {
        const n = batch.attention[b].reduce((a, c) => a + c, 0);
        this.append(keyOf(e), {
          ids: ids.slice(b * t * this.k, (b * t + n) * this.k),
          logProbs: logProbs.slice(b * t * this.k, (b * t + n) * this.k),
          entropy: entropy.slice(b * t, b * t + n),
        });
      });
      this.computed += chunk.length;
      progress?.(i + chunk.length, missing.length);
    }
    this.reused += examples.length - missing.length;
  }

  /** Targets [B, T, k] aligned with `batch` (encoded from `examples` by encodeBatch); padding gets id 0, log-prob 0. */
  async targets(examples: readonly Example[], batch: Batch): Promise<TeacherTargets> {
    await this.ensure(examples);
    const b = examples.length;
    const t = batch.ids[0].length;
    const ids = new Int32Array(b * t * this.k);
    const logProbs = new Float32Array(b * t * this.k);
    const entropy = new Float32Array(b * t);
    examples.forEach((e, i) => {
      const r = this.read(keyOf(e));
      const n = Math.min(r.entropy.length, t);
      ids.set(r.ids.subarray(0, n * this.k), i * t * this.k);
      logProbs.set(r.logProbs.subarray(0, n * this.k), i * t * this.k);
      entropy.set(r.entropy.subarray(0, n), i * t);
    });
    if (this.meters.size) this.measure(logProbs, batch);
    return {
      ids: tf.tensor3d(ids, [b, t, this.k], 'int32'),
      logProbs: tf.tensor3d(logProbs, [b, t, this.k]),
      entropy: tf.tensor2d(entropy, [b, t]),
    };
  }

  /** Feeds the meters: Σ_k exp(log-prob) at each labelled position of the batch. */
  private measure(logProbs: Float32Array, batch: Batch): void {
    const t = batch.ids[0].length;
    batch.labels.forEach((row, b) =>
      row.forEach((label, pos) => {
        if (label < 0) return;
        let covered = 0;
        for (let j = 0; j < this.k; j++) covered += Math.exp(logProbs[(b * t + pos) * this.k + j]);
        for (const m of this.meters) {
          m.tokens++;
          m.sum += covered;
          m.min = Math.min(m.min, covered);
        }
      }),
    );
  }

  /** Releases the teacher (this cache's hold on it) and closes the files; the files stay on disk. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const fd of this.fds) closeSync(fd);
    this.teacher.dispose();
  }
}

/** Top-k coverage measured over labelled positions (see {@link TeacherCache.meterCoverage}). */
export interface CoverageMeter {
  tokens: number;
  /** Σ over those positions of Σ_k p_k. */
  sum: number;
  /** The lowest Σ_k p_k seen (Infinity before the first position). */
  min: number;
  close(): void;
}

/** The hash that keys a teacher alone: its config and tokenizer (the weights are added by the caller). */
function teacherHash(h: ModelHandle) {
  return createHash('sha256').update(
    JSON.stringify({ config: h.model.config, tok: h.tokenizerFiles?.['tokenizer.json'] ?? null }),
  );
}

/** The key of a model as a teacher (weights, config, tokenizer): equals {@link TeacherCache.teacherKey} for the same teacher. */
export async function teacherKey(h: ModelHandle): Promise<string> {
  const hash = teacherHash(h);
  for (const [name, v] of h.model.named())
    hash.update(name).update(new Uint8Array(((await v.data()) as Float32Array).buffer));
  return hash.digest('hex').slice(0, 16);
}

/** Caches opened by this process (part of each one's file name). */
let opened = 0;

/** This host in file names ('-' is the separator there). */
const HOST = hostname().replace(/[^A-Za-z0-9.]/g, '_') || 'host';

/**
 * Removes an empty targets file whose process has exited. The name says which: `targets-<host>-<pid>-…`
 * (a file of another host is left alone: its process cannot be asked), or the older
 * `targets-<pid>-…`, taken as this host's.
 */
function removeIfAbandoned(path: string, name: string): void {
  const m = /^targets-(?:([^-]+)-)?(\d+)-\d+-\d+\.bin$/.exec(name);
  if (!m || (m[1] !== undefined && m[1] !== HOST) || pidAlive(Number(m[2]))) return;
  try {
    unlinkSync(path);
  } catch {
    /* another run removed it first */
  }
}

/**
 * A record's key: the texts (or a packed row's ids) and its cut, or their hash when long (a 30 MB
 * record must not become a 30 MB key).
 */
function keyOf(e: Example): string {
  const cut = e.maxTokens === undefined ? '' : `\u0000cut:${e.maxTokens}`;
  const key = e.tokens ? `ids:${e.tokens.ids.join(',')}` : `${e.prompt}\u0000${e.answer}${cut}`;
  return key.length > 4096 ? `sha256:${createHash('sha256').update(key).digest('hex')}` : key;
}

/** Disposes the tensors of a TeacherTargets. */
export function disposeTargets(t: TeacherTargets): void {
  t.ids.dispose();
  t.logProbs.dispose();
  t.entropy.dispose();
}
