import { EMPTY, first, ignoreElements, tap, type Observable } from 'rxjs';
import { UserError, type Rng } from '@e3/core';

/** One exact-answer example: the model sees `prompt` and must produce `answer`, then end. */
export interface Example {
  /** The text the model is given (chat-templated or plain); no loss on its tokens by default. */
  readonly prompt: string;
  /** The text the model must produce after the prompt (the loss and exact match are on it). */
  readonly answer: string;
  /** Where it came from, for errors about it (`data.jsonl:12`); absent for generated data. */
  readonly source?: string;
  /** Cut: the encoded record (prompt + answer + end token) keeps at most this many input tokens. */
  readonly maxTokens?: number;
  /** Already tokenized (a packed row of plain text): used as is, loss on every token. */
  readonly tokens?: PackedTokens;
}

/** A packed row: its ids (input tokens + the one label-only id after them) and who tokenized them. */
export interface PackedTokens {
  /** The token ids, in order. */
  readonly ids: readonly number[];
  /** The packing tokenizer's size and directory: encodeBatch refuses a model whose tokenizer differs. */
  readonly vocabSize: number;
  /** The directory of the tokenizer that produced the ids. */
  readonly tokenizerDir: string;
}

/**
 * What travels on a `Dataset` port: a pull-based source of examples. Consumers draw
 * batches at their own pace (so a fast producer never floods a slow trainer, and memory
 * does not grow with the data), and step-indexed batches make a resumed run see exactly
 * the batches an uninterrupted run would.
 */
export interface Dataset {
  /**
   * Identifies the data: a hash or string of the plugin, its params, the files' content and the seed.
   * It keys the teacher cache (teacher.topkCache stores targets under it): two datasets with the same
   * fingerprint must yield the same examples, and any change to them must change it.
   */
  readonly fingerprint: string;
  /** How many training examples there are (an epoch; trainBatch wraps around it). */
  readonly trainSize: number;
  /** How many held-out examples there are. */
  readonly heldoutSize: number;
  /** What sets that number, for errors (`node "data" field "params.heldoutFraction" = 0.1 of 9 records in x.jsonl`). */
  readonly heldoutOrigin: string;
  /** The training examples of batch number `step` (epochs reshuffled by the RNG). */
  trainBatch(step: number, batchSize: number): Promise<Example[]>;
  /** Held-out examples, never trained on, in a fixed order. */
  heldout(limit?: number): Promise<Example[]>;
  /** Calibration examples: a fixed sample of the training split (mask search and baselines). */
  calibration(limit: number): Promise<Example[]>;
}

/**
 * A dataset over an in-memory or lazily read training list: epoch e is a shuffle drawn from
 * `rng.fork('epoch-e')`, so batch `step` is a pure function of (seed, step).
 */
export function stepIndexedBatches(
  size: number,
  rng: Rng,
  read: (indices: number[]) => Promise<Example[]>,
): (step: number, batchSize: number) => Promise<Example[]> {
  const orders = new Map<number, number[]>();
  const order = (epoch: number) => {
    let o = orders.get(epoch);
    if (!o) {
      o = rng.fork(`epoch-${epoch}`).shuffle([...Array(size).keys()]);
      orders.clear();
      orders.set(epoch, o);
    }
    return o;
  };
  return (step, batchSize) => {
    const idx: number[] = [];
    for (let i = 0; i < batchSize; i++) {
      const global = step * batchSize + i;
      const epoch = Math.floor(global / size);
      idx.push(order(epoch)[global % size]);
    }
    return read(idx);
  };
}

/** `node "data" field "params.heldoutFraction" = 0.1 of 9 records in x.jsonl`: what sets a held-out size. */
export function heldoutOrigin(node: string | undefined, fraction: number, of: string): string {
  return `${node ? `node "${node}" ` : ''}field "params.heldoutFraction" = ${fraction} of ${of}`;
}

/** Fewer held-out examples than this make a score too noisy to report. */
export const MIN_HELDOUT = 20;

/**
 * Fails unless `data` holds enough held-out examples for `who` (which asks for `wanted`):
 * at least MIN_HELDOUT, or all it asks for when it asks for fewer.
 */
export function requireHeldout(data: Dataset, wanted: number, who: string): void {
  const need = Math.min(MIN_HELDOUT, wanted);
  if (data.heldoutSize >= need) return;
  throw new UserError(
    `${who} scores held-out examples, but the data holds ${data.heldoutSize} ` +
      `(${data.heldoutOrigin}); it needs at least ${need} (fix: add records, or raise heldoutFraction ` +
      `so that ${need} or more are held out)`,
  );
}

/**
 * requireHeldout as soon as the dataset arrives, before the node's own (expensive) inputs are
 * ready: merge it into the node's output so the run fails early.
 */
export function heldoutCheck(data$: Observable<Dataset> | undefined, wanted: number, who: string): Observable<never> {
  return data$
    ? data$.pipe(
        first(),
        tap((d) => requireHeldout(d, wanted, who)),
        ignoreElements(),
      )
    : EMPTY;
}
