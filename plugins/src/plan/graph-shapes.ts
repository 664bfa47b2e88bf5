import type { NodeParams } from './node-params.js';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseWire, UserError, type Registry, type ValidatedGraph } from '@e3/core';
import { inspectCheckpoint } from '../model/checkpoint.js';
import { parseDecoderConfig } from '../model/config.js';
import { keepCount } from '../masker/prune-amount.js';
import { modelShape, withLayers, type ModelShape } from './shapes.js';
import type { TokenSamples } from './token-samples.js';

/**
 * What the plan reads of a graph without running it: the shape of the model on each Model wire
 * (checkpoint headers only: inspectCheckpoint) and a bound on the tokens per sequence of each
 * data node. Models produced by unknown plugins are undefined (not estimated).
 */
export class GraphShapes {
  private readonly models = new Map<string, ModelShape | undefined>();
  private readonly lengths = new Map<string, number | undefined>();
  private readonly unreadable = new Map<string, string>();

  constructor(
    private readonly graph: ValidatedGraph,
    private readonly registry?: Registry,
  ) {}

  /** Estimator `name` that plugin `plugin` declares in its manifest (`estimate`), if any. */
  estimator<T>(plugin: string, name: string): T | undefined {
    const f = this.registry?.plugin(plugin).estimate?.[name];
    return typeof f === 'function' ? (f as T) : undefined;
  }

  private node(id: string) {
    return this.graph.spec.nodes[id];
  }

  private paramsOf(id: string): NodeParams {
    return (this.node(id).params ?? {}) as NodeParams;
  }

  /** The producer node of input `port` of node `id`, if wired. */
  producer(id: string, port: string): string | undefined {
    const wire = this.node(id).in?.[port];
    return typeof wire === 'string' ? parseWire(wire)?.node : undefined;
  }

  /** The validated params of the producer of input `port` of node `id`. */
  producerParams(id: string, port: string): NodeParams {
    const from = this.producer(id, port);
    return from === undefined ? {} : this.paramsOf(from);
  }

  /** The model on input `port` of node `id`. */
  modelAt(id: string, port: string): ModelShape | undefined {
    const from = this.producer(id, port);
    return from === undefined ? undefined : this.modelOf(from);
  }

  /** The model node `id` outputs (on its `model` port). */
  modelOf(id: string): ModelShape | undefined {
    return memo(this.models, id, () => {
      try {
        return this.resolveModel(id);
      } catch (e) {
        // A checkpoint or config the node itself will reject: left to the node, whose error names it.
        if (!(e instanceof UserError)) throw e;
        this.unreadable.set(id, e.message);
        return undefined;
      }
    });
  }

  /** Why the model of node `id` could not be read, if it could not. */
  whyUnknown(id: string): string | undefined {
    return this.unreadable.get(id);
  }

  private resolveModel(id: string): ModelShape | undefined {
    const p = this.paramsOf(id);
    switch (this.node(id).plugin) {
      case 'model.hfCheckpoint': {
        const info = inspectCheckpoint(resolve(p.path));
        const shape = modelShape(info.config, `checkpoint ${p.path}`, p.frozenDtype === 'bfloat16');
        const dir = resolve(p.path);
        return existsSync(join(dir, 'tokenizer.json')) ? { ...shape, tokenizerDir: dir } : shape;
      }
      case 'model.init': {
        const vocab = p.tokenizer === 'bytes' ? 259 : 3 + new Set([...String(p.chars)]).size;
        const config = parseDecoderConfig({ ...p.config, vocab_size: vocab }, `node "${id}" params.config`);
        return modelShape(config, `node ${id} (random init)`);
      }
      case 'model.prune':
      case 'patch.linear': {
        const base = this.modelAt(id, 'model');
        const kept = base && this.keptLayers(id, base.config.numLayers);
        return base && withLayers(base, kept!, `${id}: ${kept} of ${base.config.numLayers} layers of ${base.origin}`);
      }
      case 'trainer.train':
      case 'distiller.train':
        return this.modelAt(id, 'model');
      default:
        return undefined;
    }
  }

  /** Layers model.prune (or patch.linear) keeps: from the masker that feeds its mask (all of them when unknown). */
  private keptLayers(id: string, L: number): number {
    const from = this.producer(id, 'mask');
    const m = from === undefined ? undefined : this.node(from);
    const p = from === undefined ? {} : this.paramsOf(from);
    if (m?.plugin === 'masker.fixed')
      return Array.isArray(p.keep) ? p.keep.length : L - (Array.isArray(p.drop) ? p.drop.length : 0);
    if (m && ['masker.search', 'masker.importance', 'masker.exhaustive'].includes(m.plugin))
      return keepCount(p as never, L, `node "${from}"`);
    return L;
  }

  /**
   * Tokens per sequence on the data wire `port` of node `id` for `model`: the data node's bound,
   * at most the model's context (batch.ts cuts records to it), plus the end token.
   */
  sequenceTokens(id: string, model: ModelShape, port = 'data'): number {
    const from = this.producer(id, port);
    const bound = from === undefined ? undefined : this.dataBound(from);
    return Math.min(bound ?? Infinity, model.config.maxPositionEmbeddings);
  }

  /**
   * Tokens of a padded batch of `batch` records on the data wire `port` of node `id`: the expected
   * longest of `batch` records drawn from the data (batches pad to their longest), when
   * {@link TokenSamples} measured them for this model's tokenizer; else the bound
   * ({@link sequenceTokens}). What time estimates use; memory estimates take the bound.
   */
  typicalTokens(id: string, model: ModelShape, batch: number, port = 'data'): number {
    const bound = this.sequenceTokens(id, model, port);
    const from = this.producer(id, port);
    const lengths = from === undefined ? undefined : this.tokenSamples?.lengths(from, model.tokenizerDir);
    if (!lengths?.length) return bound;
    return Math.min(bound, expectedMax(lengths, Math.max(1, Math.round(batch))));
  }

  /**
   * The share of records on the data wire `port` of node `id` that have a prompt to answer: 1 when
   * the data was not sampled (the estimate then assumes every record is answered).
   */
  promptedShare(id: string, port = 'data'): number {
    const from = this.producer(id, port);
    return (from === undefined ? undefined : this.tokenSamples?.promptedShare(from)) ?? 1;
  }

  /** Token lengths sampled from the data (set by the time plan, which reads them asynchronously). */
  tokenSamples?: TokenSamples;

  /** Tokens per record of data node `id`, bounded from its params (or its file); undefined when unknown. */
  dataBound(id: string): number | undefined {
    return memo(this.lengths, id, () => this.resolveBound(id));
  }

  private resolveBound(id: string): number | undefined {
    const p = this.paramsOf(id);
    switch (this.node(id).plugin) {
      // `A op B=` and the answer (as many tokens as characters at most), then the end token.
      case 'data.arithmetic': {
        const digits = String(p.maxOperand).length;
        return 2 * digits + 2 + (p.ops.includes('*') ? 2 * digits : digits + 1) + 1 + 1;
      }
      case 'data.brown':
        return p.maxChars + 1;
      case 'data.mix': {
        const [a, b] = [this.producer(id, 'a'), this.producer(id, 'b')].map((x) =>
          x === undefined ? undefined : this.dataBound(x),
        );
        return a === undefined || b === undefined ? undefined : Math.max(a, b);
      }
      // No tokenizer makes more tokens than a record has bytes; the JSON line bounds those.
      case 'data.jsonl':
        return longestLine(resolve(p.path)) + 1;
      default:
        return undefined;
    }
  }
}

/** The value of `key` in `cache`, computed once. */
function memo<T>(cache: Map<string, T>, key: string, make: () => T): T {
  if (!cache.has(key)) cache.set(key, make());
  return cache.get(key)!;
}

/** Bytes of the longest line of a file, read in 1 MiB blocks. */
export function longestLine(path: string): number {
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(1 << 20);
  let longest = 0;
  let current = 0;
  try {
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) {
      for (let i = 0; i < n; i++) {
        if (buf[i] === 10) {
          longest = Math.max(longest, current);
          current = 0;
        } else current++;
      }
    }
  } finally {
    closeSync(fd);
  }
  return Math.max(longest, current);
}

/**
 * E[max of b draws with replacement] from `values`: Σ over the sorted values v₍ₖ₎ of
 * v₍ₖ₎ · ((k/n)^b − ((k−1)/n)^b), the chance that the k-th smallest is the largest drawn.
 */
export function expectedMax(values: readonly number[], b: number): number {
  const v = [...values].sort((x, y) => x - y);
  const n = v.length;
  let e = 0;
  for (let k = 1; k <= n; k++) e += v[k - 1] * ((k / n) ** b - ((k - 1) / n) ** b);
  return e;
}
