import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYamlValue } from 'yaml';
import {
  checkSchema,
  type Diagnostic,
  displayPath,
  formatPath,
  GraphError,
  isPlainObject,
  locateIn,
  type Path,
  parseSetArg,
  pathProblem,
  readYamlMapping,
  type YamlKind,
} from '@e3/core';
import { SWEEP_SCHEMA } from './sweep-schema.js';

const SWEEP_FILE: YamlKind = {
  name: 'sweep',
  article: 'a sweep file',
  start: 'start with apiVersion: e3/v1, kind: Sweep, graph: …',
};

/** One run of a sweep: its --set values (fixed ones first), its seed, and how tables name it. */
export interface SweepPoint {
  /** Unique within the sweep; also the name of its run directory. */
  readonly id: string;
  /** Swept key (dotted graph path, or `overlay`) → value, without the seed. */
  readonly settings: Record<string, unknown>;
  readonly seed: number;
  /** Its graph file (absolute): the sweep's, or its overlay's. */
  readonly graph: string;
  /** Every --set argument of the run, `path=value`. */
  readonly sets: string[];
  /** Where each of `sets` was written in the sweep file, for errors (same order): its value… */
  readonly origins: Origin[];
  /** …and its key (dotted path), for errors about the path itself (e.g. no such node). */
  readonly keyOrigins: Origin[];
}

/** Where a value was written: file:line:col and its field. */
export type Origin = Pick<Diagnostic, 'file' | 'line' | 'col' | 'field'>;

/** A sweep file read, checked and expanded. */
export interface SweepPlan {
  readonly file: string;
  readonly graph: string;
  /** Identity of the expansion: a sweep directory holds one plan. */
  readonly id: string;
  readonly points: SweepPoint[];
  readonly swept: string[];
  readonly cache?: string;
}

interface SweepSpec {
  graph: string;
  set: Record<string, unknown>;
  grid: Record<string, unknown[]>;
  overlays?: { name: string; graph?: string; set: Record<string, unknown>; seeds?: number[] }[];
  seeds: number[];
  cache?: string;
}

/** Problems in a sweep file (or in a point's graph, located in the sweep file where it can be). */
export class SweepError extends GraphError {
  constructor(diagnostics: readonly Diagnostic[]) {
    super(diagnostics, 'the sweep');
    this.name = 'SweepError';
  }
}

/** Command-line additions: `--set` values for every point (after the file's), seeds instead of the file's. */
export interface SweepOverrides {
  readonly sets?: readonly string[];
  readonly seeds?: readonly number[];
}

/** Reads a sweep file: YAML syntax, then its schema, with every problem located at file:line:col. */
export function loadSweepFile(file: string, overrides: SweepOverrides = {}): SweepPlan {
  const abs = resolve(file);
  const shown = displayPath(abs);
  const bad = pathProblem(abs, 'file');
  if (bad) throw new SweepError([{ file: shown, message: `sweep file ${bad.reason}`, fix: bad.fix }]);
  const syntax: Diagnostic[] = [];
  const read = readYamlMapping(abs, shown, SWEEP_FILE, syntax);
  if (!read) throw new SweepError(syntax);
  const { doc, lines, data } = read;
  const at = (path: Path, key = false) => locateIn(doc, lines, path, key);
  const problems = checkSchema(SWEEP_SCHEMA, data);
  if (problems.length) {
    throw new SweepError(
      problems.map((p) => ({
        file: shown,
        ...at(p.path),
        field: formatPath(p.path) || undefined,
        message: p.message,
        fix: p.fix,
      })),
    );
  }
  const spec = data as unknown as SweepSpec;
  const clashes = specProblems(spec, overrides.sets ?? []);
  if (clashes.length) {
    throw new SweepError(clashes.map((c) => ({ file: c.cli ?? shown, ...(c.cli ? {} : at(c.path, c.key)), ...c.d })));
  }
  const graphAt = (named: string, path: Path) => {
    const graph = resolve(dirname(abs), named);
    const bad = pathProblem(graph, 'file');
    if (bad) {
      throw new SweepError([
        {
          file: shown,
          ...at(path),
          field: formatPath(path),
          message: `graph ${named} ${bad.reason}`,
          fix: `the graph path is relative to the sweep file; this one is ${displayPath(graph)}`,
        },
      ]);
    }
    return graph;
  };
  const graph = graphAt(spec.graph, ['graph']);
  const graphs = spec.overlays?.map((o, i) => (o.graph ? graphAt(o.graph, ['overlays', i, 'graph']) : graph)) ?? [];
  const cli = (overrides.sets ?? []).map((arg) => ({
    arg,
    origin: { file: `--set ${arg}` },
    key: { file: `--set ${arg}` },
  }));
  const seeds = overrides.seeds?.length ? [...overrides.seeds] : undefined;
  const where = (path: Path, key?: boolean) => ({ file: shown, ...at(path, key), field: formatPath(path) });
  return expand({ file: abs, graph, graphs, spec, cli, seedsOverride: seeds, where });
}

/** A problem of the spec itself: where (a path in the file, or a --set argument) and what. */
type SpecProblem = { path: Path; key?: boolean; cli?: string; d: Omit<Diagnostic, 'file' | 'line' | 'col'> };

/** `a.b` is `a.b.c`'s ancestor: setting `a.b.c` after `a.b` replaces part of it. */
const under = (path: string, root: string) => path === root || path.startsWith(`${root}.`);

/**
 * What the schema cannot see: an overlay name used twice, a grid value listed twice (each makes
 * two points of one graph), and a fixed value (the file's `set:` or `--set`) that the grid or an
 * overlay sets again for every point it reaches, so that it would be silently ignored.
 */
function specProblems(spec: SweepSpec, cliSets: readonly string[]): SpecProblem[] {
  const out: SpecProblem[] = [];
  const names = new Map<string, number>();
  spec.overlays?.forEach((o, i) => {
    const first = names.get(o.name);
    if (first === undefined) names.set(o.name, i);
    else
      out.push({
        path: ['overlays', i, 'name'],
        d: {
          field: `overlays.${i}.name`,
          message: `overlay name "${o.name}" is used by overlays ${first} and ${i}: their runs would share one name`,
          fix: 'give each overlay its own name (or remove the copy)',
        },
      });
  });
  for (const [key, values] of Object.entries(spec.grid)) {
    const seen = values.map((v) => JSON.stringify(v));
    seen.forEach((v, j) => {
      const first = seen.indexOf(v);
      if (first === j) return;
      out.push({
        path: ['grid', key, j],
        d: {
          field: `grid.${key}.${j}`,
          message: `grid value ${v} is listed twice (items ${first} and ${j}): both would run the same graph`,
          fix: 'list each value once; give more seeds to repeat a setting',
        },
      });
    });
  }
  const resetBy = (path: string): string | undefined => {
    const grid = Object.keys(spec.grid).find((g) => under(path, g));
    if (grid) return `the grid sets ${grid} in every point`;
    return undefined;
  };
  for (const key of Object.keys(spec.set)) {
    const why = resetBy(key);
    if (why)
      out.push({
        path: ['set', key],
        key: true,
        d: { field: `set.${key}`, message: `this value is ignored: ${why}`, fix: 'remove it from set:, or from grid:' },
      });
  }
  for (const arg of cliSets) {
    const path = parseSetArg(arg)?.path;
    if (!path) continue;
    const overlay = spec.overlays?.find((o) => Object.keys(o.set).some((k) => under(path, k)));
    const why = resetBy(path) ?? (overlay ? `overlay "${overlay.name}" sets it again for its points` : undefined);
    if (why)
      out.push({
        path: [],
        cli: `--set ${arg}`,
        d: {
          message: `--set ${path} would be ignored: ${why}`,
          fix: 'change the values in the sweep file (grid or overlay) instead, or drop this --set',
        },
      });
  }
  return out;
}

/**
 * True when `file` reads as a YAML mapping with a `kind` (`kind: Sweep`, or a misspelling that the
 * sweep schema then names: a graph has no kind). Anything else is left to the graph loader.
 */
export function isSweepFile(file: string): boolean {
  try {
    const data = parseYamlValue(readFileSync(resolve(file), 'utf8')) as unknown;
    return isPlainObject(data) && 'kind' in data;
  } catch {
    return false;
  }
}

/** A --set argument for `value`: plain when YAML reads it back the same, else JSON (valid YAML). */
export function setArg(path: string, value: unknown): string {
  const plain = typeof value === 'string' ? value : JSON.stringify(value);
  let back: unknown;
  try {
    back = parseYamlValue(plain);
  } catch {
    back = undefined;
  }
  return `${path}=${JSON.stringify(back) === JSON.stringify(value) ? plain : JSON.stringify(value)}`;
}

/** One --set argument of a point and where the sweep file wrote its value and its key. */
type Entry = { arg: string; origin: Origin; key: Origin };

/** A checked sweep file, ready to expand into points. */
interface Expansion {
  /** The sweep file (absolute). */
  readonly file: string;
  /** The sweep's graph, and each overlay's (same order as its overlays). */
  readonly graph: string;
  readonly graphs: string[];
  readonly spec: SweepSpec;
  /** `--set` values for every point, after the file's. */
  readonly cli: Entry[];
  /** `--seeds`, instead of the file's. */
  readonly seedsOverride: number[] | undefined;
  /** Where the sweep file wrote the value (with `key`, the key) at `path`. */
  readonly where: (path: Path, key?: boolean) => Origin;
}

/** Overlays × grid (cartesian, in file order) × seeds. */
function expand(input: Expansion): SweepPlan {
  const { file, graph, graphs, spec, cli, seedsOverride, where } = input;
  const entry = (at: Path, value: unknown, valueAt = at): Entry => ({
    arg: setArg(String(at.at(-1)), value),
    origin: where(valueAt),
    key: where(at, true),
  });
  const fixed = [...Object.entries(spec.set).map(([k, v]) => entry(['set', k], v)), ...cli];
  const overlays = spec.overlays?.map((o, i) => ({
    name: o.name,
    graph: graphs[i],
    seeds: o.seeds,
    sets: Object.entries(o.set).map(([k, v]) => entry(['overlays', i, 'set', k], v)),
  })) ?? [undefined];
  type Combo = {
    settings: Record<string, unknown>;
    graph: string;
    seeds: number[];
    sets: Entry[];
  };
  let combos: Combo[] = overlays.map((o) => ({
    settings: o ? { overlay: o.name } : {},
    graph: o?.graph ?? graph,
    seeds: seedsOverride ?? o?.seeds ?? spec.seeds,
    sets: o?.sets ?? [],
  }));
  for (const [key, values] of Object.entries(spec.grid)) {
    combos = combos.flatMap((c) =>
      values.map((v, i) => ({
        ...c,
        settings: { ...c.settings, [key]: v },
        sets: [...c.sets, entry(['grid', key], v, ['grid', key, i])],
      })),
    );
  }
  const swept = [...(spec.overlays ? ['overlay'] : []), ...Object.keys(spec.grid)];
  const labels = shortLabels(swept);
  const points: SweepPoint[] = [];
  const ids = new Set<string>();
  for (const c of combos) {
    for (const seed of c.seeds) {
      const all = [...fixed, ...c.sets];
      const id = pointId(
        swept.map((k) => `${labels[k]}=${valueLabel(c.settings[k])}`),
        seed,
        ids,
      );
      points.push({
        id,
        settings: c.settings,
        seed,
        graph: c.graph,
        sets: all.map((s) => s.arg),
        origins: all.map((s) => s.origin),
        keyOrigins: all.map((s) => s.key),
      });
    }
  }
  const identity = JSON.stringify({
    graph,
    points: points.map(({ id, sets, seed, graph: g }) => ({ id, sets, seed, g })),
  });
  const id = createHash('sha256').update(identity).digest('hex').slice(0, 12);
  return { file, graph, id, points, swept, cache: spec.cache };
}

/** Each dotted key shortened to its shortest suffix that no other key ends with. */
export function shortLabels(keys: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) {
    const parts = k.split('.');
    let n = 1;
    const clash = (m: number) =>
      keys.some((o) => o !== k && o.split('.').slice(-m).join('.') === parts.slice(-m).join('.'));
    while (n < parts.length && clash(n)) n++;
    out[k] = parts.slice(-n).join('.');
  }
  return out;
}

function valueLabel(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** A directory name: `label=value,…,seed=N`, safe characters only, long ones shortened with a hash. */
function pointId(parts: string[], seed: number, taken: Set<string>): string {
  const raw = [...parts, `seed=${seed}`].join(',');
  const safe = raw.replace(/[^A-Za-z0-9._=,+-]/g, '-');
  const hashed = `${safe.slice(0, 80)}-${createHash('sha256').update(raw).digest('hex').slice(0, 12)}`;
  const id = safe.length <= 100 && !taken.has(safe) ? safe : hashed;
  taken.add(id);
  return id;
}
