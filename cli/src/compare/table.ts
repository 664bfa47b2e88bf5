import type { DeclaredMetric } from '@e3/core';
import { rowId, type ComparedRun } from './collect.js';
import { pairedDifference, type PairedDifference } from './paired.js';

/** A metric over the seeds of one setting. */
export interface Stat {
  readonly mean: number;
  readonly std: number;
  readonly n: number;
}

/** One column: a declared metric (the first run's declaration) and the sample sizes the runs give. */
export interface MetricColumn {
  readonly key: string;
  readonly heading: string;
  readonly unit: string;
  readonly direction: 'higher' | 'lower';
  readonly digits: number;
  readonly noisy: boolean;
  /** What n counts (`examples`, `tokens`…). */
  readonly of: string;
  /** The distinct n of the runs that have it, ascending. */
  readonly n: number[];
}

/** One seed of a row: its run, each metric's value and its mask. */
export interface SeedValues {
  readonly seed: number;
  readonly run: string;
  readonly values: Record<string, number | undefined>;
  readonly removed?: number[];
}

/**
 * One row: a setting (its values of the keys), the seeds that succeeded, those it misses (failed,
 * stopped or not run: `n = seeds of expected`), and each metric's mean ± std over the seeds that
 * have it (a null metric is missing from its n, never averaged).
 */
export interface CompareRow {
  readonly settings: Record<string, unknown>;
  readonly seeds: number[];
  /** Seeds the row has in all, finished or not (a sweep's planned seeds). */
  readonly expected: number;
  readonly missing: { seed: number; status: string; run: string }[];
  readonly runs: string[];
  readonly metrics: Record<string, Stat | undefined>;
  readonly perSeed: SeedValues[];
  readonly notes: string[];
}

/** A row against the first row: each metric's paired difference over their shared seeds. */
export interface RowDifference {
  readonly row: number;
  readonly against: number;
  readonly metrics: Record<string, PairedDifference | undefined>;
}

export interface CompareTable {
  readonly keys: string[];
  readonly columns: MetricColumn[];
  readonly rows: CompareRow[];
  readonly differences: RowDifference[];
  readonly unfinished: string[];
}

/** Mean and sample standard deviation (0 for one value). */
export function meanStd(values: number[]): Stat {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/** Every metric the runs declare, first-seen order, with the sample sizes they give. */
function metricColumns(runs: readonly ComparedRun[]): MetricColumn[] {
  const first = new Map<string, DeclaredMetric>();
  const sizes = new Map<string, Set<number>>();
  for (const m of runs.flatMap((r) => r.declared ?? [])) {
    if (!first.has(m.name)) first.set(m.name, m);
    if (m.value !== null) sizes.set(m.name, (sizes.get(m.name) ?? new Set()).add(m.n));
  }
  return [...first.values()].map((m) => ({
    key: m.name,
    heading: m.heading ?? m.name,
    unit: m.unit,
    direction: m.direction,
    digits: m.digits ?? 3,
    noisy: m.noisy ?? false,
    of: m.of ?? 'examples',
    n: [...(sizes.get(m.name) ?? [])].sort((a, b) => a - b),
  }));
}

/** Removed layers (0-based, as in report.md) of a 0/1 mask. */
const removedOf = (mask: readonly number[]) => mask.flatMap((x, i) => (x ? [] : [i]));

function tableRow(all: ComparedRun[], keys: string[], columns: readonly MetricColumn[]): CompareRow {
  const g = all.filter((r) => (r.status ?? 'succeeded') === 'succeeded');
  return {
    settings: Object.fromEntries(keys.map((k) => [k, all[0].settings[k]])),
    seeds: g.map((r) => r.seed),
    expected: all.length,
    missing: all.filter((r) => !g.includes(r)).map((r) => ({ seed: r.seed, status: r.status!, run: r.dir })),
    runs: g.map((r) => r.dir),
    metrics: Object.fromEntries(
      columns.map((c) => {
        const values = g.map((r) => r.metrics[c.key]).filter((v): v is number => v !== undefined);
        return [c.key, values.length ? meanStd(values) : undefined];
      }),
    ),
    perSeed: g.map((r) => ({
      seed: r.seed,
      run: r.dir,
      values: Object.fromEntries(columns.map((c) => [c.key, r.metrics[c.key]])),
      ...(r.mask ? { removed: removedOf(r.mask) } : {}),
    })),
    notes: g.flatMap((r) => (r.note ? [r.note] : [])),
  };
}

/** Each row after the first against the first, every metric over the seeds both have. */
function rowDifferences(rows: readonly CompareRow[], columns: readonly MetricColumn[]): RowDifference[] {
  const bySeed = (r: CompareRow, key: string) =>
    new Map(r.perSeed.flatMap((s) => (s.values[key] === undefined ? [] : [[s.seed, s.values[key]!] as const])));
  return rows.slice(1).map((r, i) => ({
    row: i + 2,
    against: 1,
    metrics: Object.fromEntries(
      columns.map((c) => [c.key, pairedDifference(bySeed(r, c.key), bySeed(rows[0], c.key))]),
    ),
  }));
}

/**
 * Groups runs by their resolved settings (by their values of `keys` when unknown), first-seen
 * order; aggregates every declared metric over the succeeded runs of each group, and sets each
 * row against the first.
 */
export function compareTable(runs: ComparedRun[], keys: string[], unfinished: string[]): CompareTable {
  const groups = new Map<string, ComparedRun[]>();
  for (const r of runs) groups.set(rowId(r, keys), [...(groups.get(rowId(r, keys)) ?? []), r]);
  const columns = metricColumns(runs);
  const rows = [...groups.values()].map((all) => tableRow(all, keys, columns));
  return { keys, columns, rows, differences: rowDifferences(rows, columns), unfinished };
}
