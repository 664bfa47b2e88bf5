/**
 * Float32 output buffers of the cpu backend, handed back when their tensor is disposed and
 * handed out again for the next output of the same length.
 *
 * Why: a training step at Qwen3-0.6B's size makes ~4 GB of fresh outputs (weight gradients,
 * block activations, logits chunks). Each fresh typed array costs one page fault and one zeroed
 * page per 4 KiB on first touch, and V8 starts a garbage collection for every 64 MB of new
 * array buffers; its marker then competes with the two compute threads for the two cores.
 * Measured on that step: the weight-gradient sgemms ran at 74 GFLOP/s into fresh arrays, and
 * garbage collection took a fifth of the profile (bench/results/scale.md, docs/DESIGN.md).
 *
 * Safety: a tensor's memory can outlive its tensor in only two ways on the cpu backend, and
 * both are watched. `readSync`/`read` (dataSync(), data(), buffer()) hand the array itself to
 * JavaScript; a kernel such as Slice can make a new tensor whose values are a view of it
 * (`write` with a subarray). Either marks the buffer "escaped", and an escaped buffer is never
 * reused: it is left to the garbage collector as before.
 */
export interface BufferPoolStats {
  /** Outputs served from the pool. */
  hits: number;
  /** Outputs allocated fresh (no free buffer of that length). */
  misses: number;
  /** Bytes of free buffers the pool holds now. */
  heldBytes: number;
  /** Bytes dropped to keep the pool within its budget. */
  evictedBytes: number;
}

interface Owned {
  escaped: boolean;
}

export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  /** Free buffers in the order they came back (a Set keeps insertion order): the oldest are dropped first. */
  private readonly byAge = new Set<Float32Array>();
  private readonly owned = new WeakMap<ArrayBufferLike, Owned>();
  private readonly stats: BufferPoolStats = { hits: 0, misses: 0, heldBytes: 0, evictedBytes: 0 };

  /**
   * @param room how many bytes free buffers may hold now (asked after every change); see
   *   host-heap.ts for the cpu backend's rule (what the busiest moment so far already used).
   * @param enabled false: every output is an ordinary array and nothing is kept.
   * @param minBytes outputs below this size (one page) are ordinary arrays.
   */
  constructor(
    private readonly room: () => number,
    public enabled = true,
    readonly minBytes = 4096,
  ) {}

  /** Whether an output of `length` floats is served by the pool. */
  serves(length: number): boolean {
    return this.enabled && length * 4 >= this.minBytes;
  }

  /** A Float32Array of `length` (contents undefined: a reused buffer keeps its old values). */
  take(length: number): Float32Array {
    const reused = this.free.get(length)?.pop();
    if (reused) {
      this.byAge.delete(reused);
      this.stats.heldBytes -= reused.byteLength;
      this.stats.hits++;
      return reused;
    }
    this.stats.misses++;
    return this.adopt(new Float32Array(length));
  }

  /** Makes `array` (fresh, not yet seen by anyone) the pool's to reuse once it is released. */
  adopt(array: Float32Array): Float32Array {
    if (this.enabled) this.owned.set(array.buffer, { escaped: false });
    return array;
  }

  /** `values` (some tensor's memory) became reachable from outside its tensor: never reuse it. */
  escape(values: unknown): void {
    const buffer = (values as { buffer?: ArrayBufferLike } | undefined)?.buffer;
    const owner = buffer && this.owned.get(buffer);
    if (owner) owner.escaped = true;
  }

  /** The tensor holding `values` was disposed: keep its buffer for reuse, if it is the pool's and never escaped. */
  release(values: unknown): void {
    if (!(values instanceof Float32Array)) return;
    const owner = this.owned.get(values.buffer);
    if (!owner || owner.escaped || values.byteOffset !== 0 || values.byteLength !== values.buffer.byteLength) return;
    const list = this.free.get(values.length) ?? [];
    list.push(values);
    this.free.set(values.length, list);
    this.byAge.add(values);
    this.stats.heldBytes += values.byteLength;
    this.trim();
  }

  /** Drops the oldest free buffers until what is held fits the room there is now. */
  trim(): void {
    if (this.stats.heldBytes <= 0) return;
    const room = this.room();
    while (this.stats.heldBytes > room) this.evictOldest();
  }

  /** Drops every free buffer (they go to the garbage collector). */
  clear(): void {
    while (this.byAge.size) this.evictOldest();
  }

  snapshot(): BufferPoolStats {
    return { ...this.stats };
  }

  private evictOldest(): void {
    const oldest = this.byAge.values().next().value as Float32Array;
    this.byAge.delete(oldest);
    const list = this.free.get(oldest.length)!;
    list.splice(list.indexOf(oldest), 1);
    if (!list.length) this.free.delete(oldest.length);
    this.owned.delete(oldest.buffer);
    this.stats.heldBytes -= oldest.byteLength;
    this.stats.evictedBytes += oldest.byteLength;
  }
}
