import type { PluginManifest } from '../registry/manifest.js';
import type { NodeKey } from './node-keys.js';
import type { Logger } from '../services/logger.js';
import type { NodeContent } from '../cache/cache-entry.js';
import { isPlainData, type NodeCache } from '../cache/node-cache.js';

/** What a run's NodeReuse keys its entries with and records in them. */
export interface NodeReuseOptions {
  /** Node id → its cache key (cache-keys.ts). */
  readonly keys: Map<string, NodeKey>;
  readonly log: Logger;
  /** The run directory, recorded in each entry it stores. */
  readonly runDir: string;
  /** e3's version, recorded in each entry. */
  readonly version: string;
  /** Node id → what its key was computed from, recorded in its entry. */
  readonly content?: Map<string, NodeContent>;
}

/**
 * A run's use of the node cache: which deterministic nodes it took from the cache (instead of
 * running them) and which it stored. The executor asks `lookup` before connecting a node,
 * `record`s the values of the nodes it runs, and calls `finish` when a node completes.
 */
export class NodeReuse {
  /** Node id → key of the entry reused / stored by this run, for run.json. */
  readonly reused: Record<string, string> = {};
  readonly stored: Record<string, string> = {};
  /** Node id → why the entry found under its key could not be used (the node ran instead). */
  readonly damaged: Record<string, string> = {};
  private readonly recording = new Map<string, Record<string, unknown[]>>();

  private readonly keys: Map<string, NodeKey>;
  private readonly log: Logger;
  private readonly runDir: string;
  private readonly version: string;
  private readonly content: Map<string, NodeContent>;

  constructor(
    readonly cache: NodeCache,
    o: NodeReuseOptions,
  ) {
    this.keys = o.keys;
    this.log = o.log;
    this.runDir = o.runDir;
    this.version = o.version;
    this.content = o.content ?? new Map();
  }

  /** The stored values of node `id`'s ports when it is deterministic and cached; else starts recording it. */
  lookup(id: string, manifest: PluginManifest): Record<string, unknown[]> | undefined {
    if (!manifest.deterministic) return undefined;
    const key = this.keys.get(id)!.key;
    const found = this.cache.read(key);
    const entry = `${this.cache.dir}/nodes/${key}`;
    const missing = found.kind === 'hit' ? Object.keys(manifest.outputs).filter((p) => !found.outputs[p]) : [];
    if (found.kind === 'hit' && !missing.length) {
      this.log.info(
        `node ${id}: reused its outputs from the node cache (key ${key}, computed by node ` +
          `${found.meta.node} of ${found.meta.run}); it does not run`,
      );
      this.reused[id] = key;
      return found.outputs;
    }
    if (found.kind === 'damaged' || missing.length) {
      const reason = found.kind === 'damaged' ? found.reason : `outputs.json has no port ${missing.join(', ')}`;
      this.damaged[id] = reason;
      this.log.warn(`node ${id}: cache entry ${entry} is damaged (${reason}); not used: the node runs and rewrites it`);
    }
    if (found.kind === 'foreign') {
      this.log.warn(`node ${id}: ${entry} was not written by e3 (no marker); left alone, the node runs uncached`);
    }
    this.recording.set(id, Object.fromEntries(Object.keys(manifest.outputs).map((port) => [port, []])));
    return undefined;
  }

  record(id: string, port: string, value: unknown): void {
    this.recording.get(id)?.[port]?.push(value);
  }

  /** Node `id` completed: stores what it emitted (if it is plain data). */
  finish(id: string, plugin: string): void {
    const outputs = this.recording.get(id);
    if (!outputs) return;
    this.recording.delete(id);
    const key = this.keys.get(id)!.key;
    if (!isPlainData(outputs)) {
      this.log.warn(
        `node ${id}: ${plugin} is marked deterministic but emitted values that are not plain data; ` +
          "not cached (a bug in the plugin's manifest)",
      );
      return;
    }
    const meta = {
      key,
      plugin,
      node: id,
      run: this.runDir,
      createdAt: new Date().toISOString(),
      version: this.version,
      content: this.content.get(id),
    };
    let saved: boolean;
    try {
      saved = this.cache.save(meta, outputs);
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      this.log.warn(`node ${id}: could not store its outputs in the node cache ${this.cache.dir} (${why}); not cached`);
      return;
    }
    if (saved) {
      this.log.info(`node ${id}: stored its outputs in the node cache (key ${key})`);
      this.stored[id] = key;
    } else {
      this.log.info(`node ${id}: not stored: the node cache already holds key ${key} (or something not e3's)`);
    }
  }
}
