import type * as tf from '@tensorflow/tfjs-core';

/**
 * What lets the tape's sum of a weight's gradients happen in place. A tied embedding gets two
 * gradients, the output head's (dense, [V, d]) and the lookup's (a segment sum, mostly zero
 * rows), and the tape adds them into a third [V, d] tensor: 622 MB read twice and written once
 * per step at Qwen3's size, into memory that, at the step's busiest moment, was fresh pages.
 */

/** Gradients whose maker hands them only to the tape: an Add may sum into them when nothing else holds them. */
const accumulators = new WeakSet<tf.DataId>();
/** The rows a zeroed output had written into it (the rest are zero), by its values. */
const writtenRows = new WeakMap<object, Int32Array>();

/**
 * Marks `t`, a gradient that its gradient function made and returns to the tape and nothing
 * else, as one the tape's Add may sum into in place (the tape disposes its old sum right after).
 */
export function markGradientAccumulator(t: tf.TensorInfo): void {
  accumulators.add(t.dataId);
}

/** Takes `t`'s mark (true when it had one): an Add that sums into it in place does so once. */
export function takeGradientAccumulator(t: tf.TensorInfo): boolean {
  return accumulators.delete(t.dataId);
}

/** Records that only `rows` (distinct) of the zeroed `values` were written (a segment sum's output). */
export function recordWrittenRows(values: object, rows: Int32Array): void {
  writtenRows.set(values, rows);
}

/** The rows written into `values` when it is a zeroed output that recorded them; undefined otherwise. */
export function writtenRowsOf(values: object): Int32Array | undefined {
  return writtenRows.get(values);
}
