import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYamlValue } from 'yaml';
import {
  displayPath,
  getPath,
  GraphError,
  isPlainObject,
  parsePath,
  readRunReport,
  UserError,
  type DeclaredMetric,
  type HistoryRow,
} from '@e3/core';
import { canonicalJson, contentHash, diffPaths } from '../sweep/point-content.js';
import { readRecordedJson, RUN_JSON_SCHEMA, runJsonFix } from '../sweep/recorded-json.js';
import { SWEEP_JSON, readSweepState } from '../sweep/sweep-state.js';

/** One run (or sweep point) as compare sees it: its settings, seed, outcome and metrics. */
export interface ComparedRun {
  readonly dir: string;
  /** Values that label its row (a sweep's swept keys; compare adds the resolved keys that tell rows apart). */
  readonly settings: Record<string, unknown>;
  readonly seed: number;
  readonly metrics: Record<string, number | undefined>;
  /** The metrics as its report declared them (and compare's wall time), values included. */
  readonly declared?: readonly DeclaredMetric[];
  /** The chosen mask (0/1 per layer), when the report has one. */
  readonly mask?: readonly number[];
  /** The recorded training history (the loss and each term per step), for learning curves. */
  readonly history?: readonly HistoryRow[];
  /** `succeeded` when absent; anything else is a seed its row misses. */
  readonly status?: string;
  /** Hash of its resolved settings (see resolvedSettings); runs share a row exactly when these are equal. */
  readonly identity?: string;
  /** Its resolved settings, to name the keys in which rows differ. */
  readonly resolved?: Record<string, unknown>;
  /** Something a reader of the row should know about this run. */
  readonly note?: string;
}

/** Compare's own metric: the run's wall time from run.json (timing, so shown apart). */
export const WALL_SECONDS: DeclaredMetric = {
  name: 'run.wallSeconds',
  heading: 'wall s',
  unit: 's',
  direction: 'lower',
  n: 1,
  of: 'runs',
  value: null,
  noisy: true,
  digits: 1,
};

type Rec = Record<string, unknown>;

/** A metric is a finite number; anything else (null, NaN written as null) counts as missing. */
function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * What a run ran, apart from its seed: its resolved.yaml (the graph after extends, every set and
 * --set, vars and defaults, as the run recorded it) without `seed`, `vars` and the `backend`
 * options, plus the backend it ran on (run.json); its own directory (where it is now, and where
 * run.json says it ran) reads `${run.dir}`, so that two points of one sweep, or a run and its
 * copy, compare equal.
 */
export function resolvedSettings(dir: string, run: Rec): Record<string, unknown> | undefined {
  const file = join(dir, 'resolved.yaml');
  if (!existsSync(file)) return undefined;
  let spec: unknown;
  try {
    spec = parseYamlValue(readFileSync(file, 'utf8'));
  } catch (e) {
    spec = e;
  }
  if (!isPlainObject(spec)) {
    throw new GraphError(
      [
        {
          file: displayPath(file),
          message: 'not a YAML mapping (the resolved graph of the run)',
          fix: `e3 run writes it; restore it, or leave ${displayPath(dir)} out of the comparison`,
        },
      ],
      displayPath(file),
    );
  }
  const { seed: _s, vars: _v, backend: _b, ...rest } = spec;
  const own = [resolve(dir), ...(typeof run.dir === 'string' ? [run.dir] : [])];
  const unbind = (v: unknown): unknown =>
    typeof v === 'string'
      ? own.reduce((s, d) => s.split(d).join('${run.dir}'), v)
      : Array.isArray(v)
        ? v.map(unbind)
        : isPlainObject(v)
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unbind(x)]))
          : v;
  return { ...(unbind(rest) as Record<string, unknown>), backend: run.backend ?? null };
}

/** How to mend a run's report.json that compare cannot read. */
function reportFix(dir: string): string {
  return (
    'the evaluator writes report.json (schemas/run-report.schema.json); restore it (one from before declared ' +
    `metrics: e3 report ${displayPath(dir)} adds them), or leave ${displayPath(dir)} out of the comparison`
  );
}

function readRun(dir: string, shown: string, settings: Record<string, unknown>, seed?: number): ComparedRun {
  const run = readRecordedJson(join(dir, 'run.json'), RUN_JSON_SCHEMA, runJsonFix(dir));
  const ownSeed = seed ?? (typeof run?.seed === 'number' ? run.seed : 0);
  if (!run) return { dir: shown, settings, seed: ownSeed, metrics: {}, status: 'pending' };
  const resolved = resolvedSettings(dir, run);
  const status = String(run.status);
  const report = status === 'succeeded' ? readRunReport(join(dir, 'report.json'), reportFix(dir)) : undefined;
  const wall = { ...WALL_SECONDS, value: num(run.wallSeconds) ?? null };
  const declared = status === 'succeeded' ? [...(report?.metrics ?? []), wall] : [];
  return {
    dir: shown,
    settings,
    seed: ownSeed,
    metrics: Object.fromEntries(declared.map((m) => [m.name, num(m.value)])),
    declared,
    ...(report?.mask ? { mask: report.mask.mask } : {}),
    ...(report?.training ? { history: report.training.history } : {}),
    status,
    ...(resolved ? { resolved, identity: contentHash(resolved) } : {}),
  };
}

/**
 * The runs of the given directories (sweep directories: every point, finished or not; run
 * directories: the run) and the keys that tell their rows apart: a sweep's swept keys first, then
 * every resolved key in which two rows that those leave equal differ. A point that has not run
 * joins the row of a point of its sweep with the same swept values. Two runs with the same
 * resolved settings and the same seed (a sweep or a run given twice) are refused.
 */
export function collectRuns(dirs: string[]): { runs: ComparedRun[]; keys: string[]; unfinished: string[] } {
  const runs: ComparedRun[] = [];
  const keys: string[] = [];
  for (const given of dirs) {
    const dir = resolve(given);
    if (existsSync(join(dir, SWEEP_JSON))) {
      const state = readSweepState(dir);
      for (const k of state.swept) if (!keys.includes(k)) keys.push(k);
      const points = state.points.map((p) => readRun(join(dir, p.dir), join(given, p.dir), p.settings, p.seed));
      for (const p of points) {
        const sibling = points.find((q) => q.identity && canonicalJson(q.settings) === canonicalJson(p.settings));
        runs.push(p.identity || !sibling ? p : { ...p, identity: sibling.identity, resolved: sibling.resolved });
      }
    } else if (existsSync(join(dir, 'run.json'))) {
      runs.push(readRun(dir, given, {}));
    } else {
      throw new UserError(
        `${given}: neither a run directory (run.json) nor a sweep directory (${SWEEP_JSON}); ` +
          'give directories that e3 run or e3 sweep wrote',
      );
    }
  }
  refuseDuplicates(runs);
  const labelled = labelRows(runs, keys);
  const unfinished = labelled.filter((r) => (r.status ?? 'succeeded') !== 'succeeded').map((r) => r.dir);
  return { runs: labelled, keys, unfinished };
}

/** Row of a run: its resolved settings when known, else its sweep's swept values. */
export function rowId(r: ComparedRun, keys: readonly string[]): string {
  return r.identity ?? `settings:${canonicalJson(keys.map((k) => r.settings[k]))}`;
}

function refuseDuplicates(runs: readonly ComparedRun[]): void {
  const seen = new Map<string, ComparedRun>();
  for (const r of runs) {
    if (!r.identity) continue;
    const key = `${r.identity}:${r.seed}`;
    const first = seen.get(key);
    if (!first) {
      seen.set(key, r);
      continue;
    }
    throw new UserError(
      `${first.dir} and ${r.dir} ran the same settings with the same seed ${r.seed}: one would count twice ` +
        'as a replicate (a run or a sweep given twice, or a copy of one); give each run once',
    );
  }
}

/**
 * Adds to `keys` the resolved keys in which rows differ while the keys so far leave them equal,
 * and writes each run's values of those keys into its settings.
 */
function labelRows(runs: readonly ComparedRun[], keys: string[]): ComparedRun[] {
  const rows = new Map<string, ComparedRun>();
  for (const r of runs) if (!rows.has(rowId(r, keys))) rows.set(rowId(r, keys), r);
  const value = (r: ComparedRun, k: string) => (k in r.settings ? r.settings[k] : getPath(r.resolved, parsePath(k)));
  const label = (r: ComparedRun) => canonicalJson(keys.map((k) => value(r, k) ?? null));
  const byLabel = new Map<string, ComparedRun[]>();
  for (const r of rows.values()) byLabel.set(label(r), [...(byLabel.get(label(r)) ?? []), r]);
  for (const same of byLabel.values()) {
    for (const other of same.slice(1)) {
      if (!same[0].resolved || !other.resolved) continue;
      for (const d of diffPaths(same[0].resolved ?? {}, other.resolved ?? {}))
        if (!keys.some((k) => d.path === k || d.path.startsWith(`${k}.`))) keys.push(d.path);
    }
  }
  return runs.map((r) => ({ ...r, settings: Object.fromEntries(keys.map((k) => [k, value(r, k)])) }));
}
