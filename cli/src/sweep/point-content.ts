import { createHash } from 'node:crypto';
import { type Diagnostic, didYouMean, type GraphSpec, isPlainObject } from '@e3/core';
import type { Origin, SweepPoint } from './sweep-file.js';

/**
 * What a point runs, apart from its seed: the resolved graph (extends, the file's and the overlay's
 * `set:`, every --set and `${vars}` applied, param defaults filled in) without `seed` and `vars`
 * (vars only matter where `${vars.x}` put them, and that is in the graph already).
 */
export interface PointContent {
  /** sha256 of the canonical JSON of `spec` (16 hex digits). */
  readonly hash: string;
  readonly spec: Record<string, unknown>;
  /** The names under `vars:` (for a did-you-mean on a grid over a misspelt one). */
  readonly vars: string[];
}

/** JSON with object keys sorted at every level, so that equal content gives equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    isPlainObject(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

export function contentHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}

/** The content of a resolved graph spec, as a sweep records it per point. */
export function pointContent(spec: GraphSpec): PointContent {
  const { seed: _seed, vars: _vars, ...rest } = spec as GraphSpec & Record<string, unknown>;
  const copy = JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
  return { hash: contentHash(copy), spec: copy, vars: Object.keys(spec.vars ?? {}) };
}

/** The dotted paths where `a` and `b` differ, each with both values (`undefined` where one lacks it). */
export function diffPaths(a: unknown, b: unknown, at = ''): { path: string; from: unknown; to: unknown }[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => diffPaths(a[k], b[k], at ? `${at}.${k}` : k));
  }
  return canonicalJson(a) === canonicalJson(b) ? [] : [{ path: at || '(whole graph)', from: a, to: b }];
}

/** `path: 1 → 2` lines for messages (values as JSON, cut to 60 characters). */
export function formatDiff(diff: ReturnType<typeof diffPaths>, max = 6): string {
  const show = (v: unknown) => {
    const text = v === undefined ? '(absent)' : JSON.stringify(v);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  };
  const lines = diff.slice(0, max).map((d) => `${d.path}: ${show(d.from)} → ${show(d.to)}`);
  if (diff.length > max) lines.push(`… and ${diff.length - max} more`);
  return lines.join('; ');
}

/**
 * Points that would run one graph with one seed, found before anything runs: a grid key whose
 * values all resolve to the same graph (nothing reads it: a typo such as `vars.pruneRaito`, or a
 * value equal to the default), located at the key; then any other two points that coincide
 * (e.g. two overlays that set the same thing).
 */
export function samePointProblems(
  points: readonly SweepPoint[],
  content: ReadonlyMap<SweepPoint, PointContent>,
  gridKeys: readonly string[],
  sweepFile: string,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const noop = new Set<string>();
  for (const key of gridKeys) {
    if (new Set(points.map((p) => canonicalJson(p.settings[key]))).size < 2) continue; // one value: a fixed set
    const others = (p: SweepPoint) =>
      canonicalJson([Object.entries(p.settings).filter(([k]) => k !== key), p.seed, p.graph]);
    const groups = groupBy(points, others);
    const varies = [...groups.values()].some((g) => new Set(g.map((p) => content.get(p)?.hash)).size > 1);
    if (varies) continue;
    noop.add(key);
    const p = points[0];
    const i = p.sets.map((s) => s.startsWith(`${key}=`)).lastIndexOf(true);
    const origin: Origin = i >= 0 ? p.keyOrigins[i] : { file: sweepFile };
    out.push({
      ...origin,
      field: `grid.${key}`,
      message:
        `grid key ${key} changes nothing: every value gives the same resolved graph ` +
        `(${[...new Set(points.map((q) => JSON.stringify(q.settings[key])))].join(', ')})`,
      fix: noopFix(key, content.get(p)),
    });
  }
  const same = groupBy(points, (p) => `${content.get(p)?.hash}:${p.seed}`);
  for (const g of same.values()) {
    if (g.length < 2) continue;
    const rest = (p: SweepPoint) => canonicalJson(Object.entries(p.settings).filter(([k]) => !noop.has(k)));
    if (g.every((p) => rest(p) === rest(g[0]))) continue; // a key that changes nothing, reported above
    out.push({
      file: sweepFile,
      message: `points ${g.map((p) => p.id).join(', ')} resolve to the same graph and seed: they would run one experiment ${g.length} times`,
      fix: 'make their settings differ (two overlays or grid values that set the same thing), or keep one',
    });
  }
  return out;
}

function noopFix(key: string, content: PointContent | undefined): string {
  if (key.startsWith('vars.')) {
    const name = key.slice('vars.'.length);
    const near = didYouMean(
      name,
      (content?.vars ?? []).filter((v) => v !== name),
    );
    return (
      `no \${${key}} appears in the graph, so its value is never used` +
      (near ? `: did you mean vars.${near}?` : '; check the spelling (a param must read the variable)')
    );
  }
  return 'each value equals what the graph already has (e.g. its default); give values that differ, or drop the key';
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const t of items) out.set(key(t), [...(out.get(key(t)) ?? []), t]);
  return out;
}
