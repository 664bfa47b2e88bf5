import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYamlValue } from 'yaml';
import { UserError } from '../errors.js';
import { readJsonObject } from '../services/output-guard.js';
import { SWEEP_JSON, readSweepState } from '../sweep/sweep-state.js';

/** One finished run as compare sees it: its settings, seed and metrics. */
export interface ComparedRun {
  readonly dir: string;
  readonly settings: Record<string, unknown>;
  readonly seed: number;
  readonly metrics: Record<string, number | undefined>;
}

/** The table's columns: key, heading, and where the value is in a run's report.json / run.json. */
export const METRICS = [
  { key: 'exactMatch', heading: 'exact match', pick: (r: Rec, _: Rec) => num(r.model?.accuracy) },
  { key: 'kl', heading: 'KL', pick: (r: Rec, _: Rec) => num(r.model?.klToTeacher) },
  { key: 'perplexity', heading: 'perplexity', pick: (r: Rec, _: Rec) => num(r.model?.perplexity) },
  { key: 'speedup', heading: 'speed-up (decode)', pick: (r: Rec, _: Rec) => num(r.speedup?.decode) },
  { key: 'tokens', heading: 'tokens', pick: (r: Rec, _: Rec) => num(r.training?.tokens) },
  { key: 'wallSeconds', heading: 'wall s', pick: (_: Rec, run: Rec) => num(run.wallSeconds) },
] as const;

type Rec = Record<string, any>;

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** `path=value` → [path, value] as the graph loader reads it. */
function parseSet(arg: string): [string, unknown] {
  const eq = arg.indexOf('=');
  let value: unknown;
  try {
    value = parseYamlValue(arg.slice(eq + 1));
  } catch {
    value = arg.slice(eq + 1);
  }
  return [arg.slice(0, eq), value];
}

function readRun(dir: string, settings: Record<string, unknown> | undefined): ComparedRun | undefined {
  const run = readJsonObject(join(dir, 'run.json'));
  if (run?.status !== 'succeeded') return undefined;
  const report = readJsonObject(join(dir, 'report.json')) ?? {};
  const own = settings ?? Object.fromEntries((Array.isArray(run.sets) ? run.sets.map(String) : []).map(parseSet));
  const metrics = Object.fromEntries(METRICS.map((m) => [m.key, m.pick(report, run)]));
  return { dir, settings: own, seed: Number(run.seed ?? 0), metrics };
}

/**
 * The finished runs of the given directories (sweep directories: every point; run directories:
 * the run) and the keys that tell them apart (a sweep's swept keys first, then any --set path
 * whose value differs between runs). Unfinished runs are counted, not compared.
 */
export function collectRuns(dirs: string[]): { runs: ComparedRun[]; keys: string[]; unfinished: string[] } {
  const runs: ComparedRun[] = [];
  const unfinished: string[] = [];
  const keys: string[] = [];
  for (const given of dirs) {
    const dir = resolve(given);
    if (existsSync(join(dir, SWEEP_JSON))) {
      const state = readSweepState(dir);
      for (const k of state.swept) if (!keys.includes(k)) keys.push(k);
      for (const p of state.points) {
        const r = readRun(join(dir, p.dir), p.settings);
        if (r) runs.push(r);
        else unfinished.push(join(given, p.dir));
      }
    } else if (existsSync(join(dir, 'run.json'))) {
      const r = readRun(dir, undefined);
      if (r) runs.push(r);
      else unfinished.push(given);
    } else {
      throw new UserError(
        `${given}: neither a run directory (run.json) nor a sweep directory (${SWEEP_JSON}); ` +
          'give directories that e3 run or e3 sweep wrote',
      );
    }
  }
  const all = new Set(runs.flatMap((r) => Object.keys(r.settings)));
  for (const k of all) {
    if (keys.includes(k)) continue;
    const values = new Set(runs.map((r) => JSON.stringify(r.settings[k])));
    if (values.size > 1) keys.push(k);
  }
  return { runs, keys, unfinished };
}
