import jstat from 'jstat';

/** A paired difference `a − b` over the seeds both arms have. */
export interface PairedDifference {
  /** Seeds both arms have a value for, ascending. */
  readonly seeds: number[];
  readonly n: number;
  readonly mean: number;
  /** The 95% interval of the mean difference (Student's t, n − 1 degrees of freedom); absent for n < 2. */
  readonly low?: number;
  readonly high?: number;
}

/**
 * The mean of `a[s] − b[s]` over the seeds s in both, and its 95% interval
 * `mean ± t(0.975, n − 1) · sd / √n` with sd the sample standard deviation of the differences;
 * undefined when no seed is shared.
 */
export function pairedDifference(
  a: ReadonlyMap<number, number>,
  b: ReadonlyMap<number, number>,
): PairedDifference | undefined {
  const seeds = [...a.keys()].filter((s) => b.has(s)).sort((x, y) => x - y);
  const n = seeds.length;
  if (!n) return undefined;
  const d = seeds.map((s) => a.get(s)! - b.get(s)!);
  const mean = d.reduce((x, y) => x + y, 0) / n;
  if (n < 2) return { seeds, n, mean };
  const sd = Math.sqrt(d.reduce((x, y) => x + (y - mean) ** 2, 0) / (n - 1));
  const half = (jstat.jStat.studentt.inv(0.975, n - 1) * sd) / Math.sqrt(n);
  return { seeds, n, mean, low: mean - half, high: mean + half };
}
