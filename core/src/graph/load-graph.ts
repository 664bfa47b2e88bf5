import { readdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parse as parseYamlValue } from 'yaml';
import { GraphError, type Diagnostic } from '../errors.js';
import { pathProblem, type PathProblem } from '../services/user-paths.js';
import { suggestion } from '../did-you-mean.js';
import { interpolate } from './interpolate.js';
import { unrollRepeats } from './repeat.js';
import { GRAPH_SCHEMA } from './graph-schema.js';
import { deepMerge, formatPath, getPath, isPlainObject, parsePath, type Path } from './paths.js';
import { SourceMap } from './source-map.js';
import { TOP_LEVEL_KEYS, type GraphSpec } from './spec.js';
import { locateIn, readYamlMapping, type YamlKind } from './yaml-file.js';

const GRAPH_FILE: YamlKind = { name: 'graph', article: 'a graph', start: 'start with apiVersion: e3/v1 and nodes:' };

/** A graph read from disk with its overlays applied, and the map back to its sources. */
export interface LoadedGraph {
  readonly file: string;
  readonly spec: GraphSpec;
  readonly sources: SourceMap;
}

export interface LoadOptions {
  /** CLI overrides, `path=value`, applied after the file's own `set:` entries. */
  readonly sets?: readonly string[];
}

/** Shortens absolute paths for messages. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

/**
 * Reads a graph file, following `extends` chains (loops and missing files are errors),
 * applying each file's `set:` overlay entries, then `--set` arguments, then `${vars}`, then
 * unrolling `repeat:` groups into their rounds' nodes (repeat.ts).
 * Every problem found is collected; a GraphError carries them all.
 */
export function loadGraph(file: string, options: LoadOptions = {}): LoadedGraph {
  const problems: Diagnostic[] = [];
  const sources = new SourceMap();
  const rootProblem = pathProblem(resolve(file), 'file');
  if (rootProblem) throw new GraphError([rootFileDiagnostic(resolve(file), rootProblem)]);
  const merged = readLayer(resolve(file), [], sources, problems);
  if (!merged) throw new GraphError(problems);

  const spec = merged as Record<string, unknown>;
  for (const [, arg] of pluginsFirst((options.sets ?? []).map((a) => [parseSetArg(a)?.path ?? '', a] as const))) {
    const set = parseSetArg(arg);
    if (!set) {
      problems.push({
        file: `--set ${arg}`,
        message: 'expected path=value',
        fix: 'e.g. --set nodes.search.params.steps=200',
      });
      continue;
    }
    const path = parsePath(set.path);
    const value = set.value;
    if (
      applySet(spec, path, value, (message, fix) =>
        problems.push({ file: `--set ${arg}`, field: formatPath(path), message, fix }),
      )
    ) {
      sources.addCliSet(path, arg);
    }
  }

  const vars = isPlainObject(spec.vars) ? spec.vars : {};
  const scope = { vars, graph: { dir: dirname(resolve(file)), file: resolve(file), name: basename(file) } };
  const interpProblems: { path: Path; message: string; fix?: string }[] = [];
  for (const key of Object.keys(spec)) {
    if (key !== 'vars') spec[key] = interpolate(spec[key], scope, [key], interpProblems);
  }
  for (const p of interpProblems)
    problems.push({ ...sources.locate(p.path), field: formatPath(p.path), message: p.message, fix: p.fix });
  if (problems.length) throw new GraphError(problems);
  for (const p of unrollRepeats(spec, GRAPH_SCHEMA, sources))
    problems.push({
      ...sources.locate(p.path),
      node: p.node,
      field: formatPath(p.path),
      message: p.message,
      fix: p.fix,
    });
  if (problems.length) throw new GraphError(problems);
  return { file: resolve(file), spec: spec as unknown as GraphSpec, sources };
}

/**
 * A `--set path=value` argument: the dotted path before its first `=`, and the value after it as
 * YAML reads it (the text itself when it is not valid YAML). Undefined when there is no path.
 */
export function parseSetArg(arg: string): { path: string; value: unknown } | undefined {
  const eq = arg.indexOf('=');
  if (eq <= 0) return undefined;
  const text = arg.slice(eq + 1);
  let value: unknown;
  try {
    value = parseYamlValue(text);
  } catch {
    value = text;
  }
  return { path: arg.slice(0, eq), value };
}

/** Reads one file and everything it extends; returns the merged value (or undefined on a fatal problem). */
function readLayer(
  file: string,
  chain: string[],
  sources: SourceMap,
  problems: Diagnostic[],
): Record<string, unknown> | undefined {
  const shown = displayPath(file);
  if (chain.includes(file)) {
    problems.push({
      file: displayPath(chain[chain.length - 1]),
      message: `extends loop: ${[...chain, file].map(displayPath).join(' → ')}`,
      fix: 'remove one of the extends',
    });
    return undefined;
  }
  const read = readYamlMapping(file, shown, GRAPH_FILE, problems);
  if (!read) return undefined;
  const { doc, lines, data } = read;
  const here = dirname(file);
  if (Array.isArray(data.plugins)) {
    data.plugins = data.plugins.map((p) =>
      typeof p === 'string' && !isAbsolute(p) && p.startsWith('.') ? resolve(here, p) : p,
    );
  }
  let merged: Record<string, unknown> = {};
  if (data.extends !== undefined) {
    if (typeof data.extends !== 'string') {
      const pos = locateIn(doc, lines, ['extends']);
      problems.push({
        file: shown,
        ...pos,
        field: 'extends',
        message: 'extends must be a file path',
        fix: 'extends: ../e3-pruner.yaml',
      });
      return undefined;
    }
    const target = resolve(here, data.extends);
    const bad = pathProblem(target, 'file');
    if (bad) {
      const at = locateIn(doc, lines, ['extends']);
      problems.push({ file: shown, ...at, field: 'extends', ...extendsProblem(data.extends, target, bad) });
      return undefined;
    }
    const base = readLayer(target, [...chain, file], sources, problems);
    if (!base) return undefined;
    merged = base;
  }
  const { extends: _e, set, ...own } = data;
  if (Array.isArray(merged.plugins) && Array.isArray(own.plugins)) own.plugins = [...merged.plugins, ...own.plugins];
  merged = deepMerge(dropSwappedParams(merged, own), own) as Record<string, unknown>;
  sources.addDocument(shown, doc, lines);
  if (set !== undefined) {
    if (!isPlainObject(set)) {
      problems.push({
        file: shown,
        ...locateIn(doc, lines, ['set']),
        field: 'set',
        message: 'set must map dotted paths to values',
        fix: 'set: { nodes.search.params.steps: 200 }',
      });
      return merged;
    }
    for (const [key, value] of pluginsFirst(Object.entries(set))) {
      const path = parsePath(key);
      const ok = applySet(merged, path, value, (message, fix) =>
        problems.push({ file: shown, ...locateIn(doc, lines, ['set', key]), field: `set.${key}`, message, fix }),
      );
      if (ok) sources.addDocument(shown, doc, lines, path, ['set', key]);
    }
  }
  return merged;
}

/** The graph file named on the command line is missing, a directory, a symlink loop, … */
function rootFileDiagnostic(file: string, p: PathProblem): Diagnostic {
  const yaml = yamlFilesIn(file);
  const fix = yaml.length ? `name a graph file in it, e.g. ${displayPath(join(file, yaml[0]))}` : p.fix;
  return { file: displayPath(file), message: `graph file ${p.reason}`, fix };
}

/** The YAML files of `dir`, sorted; none when it is not a readable directory. */
function yamlFilesIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort();
  } catch {
    return [];
  }
}

/** `extends: x` names a file that is missing or not a file: reported at the extends key. */
function extendsProblem(named: string, target: string, p: PathProblem): { message: string; fix: string } {
  const relativeFix = `extends paths are relative to the file that names them; this one is ${displayPath(target)}`;
  const fix = p.cause === 'missing' ? relativeFix : p.fix;
  return { message: `extends file ${named} ${p.reason}`, fix };
}

/**
 * A base graph without the params of the nodes whose plugin `own` (an overlay) swaps: the old
 * plugin's params belong to it, as a swapped component's do; params the overlay gives stay.
 */
function dropSwappedParams(base: Record<string, unknown>, own: Record<string, unknown>): Record<string, unknown> {
  if (!isPlainObject(base.nodes) || !isPlainObject(own.nodes)) return base;
  const nodes = { ...base.nodes };
  for (const [id, node] of Object.entries(own.nodes)) {
    const old = nodes[id];
    if (isPlainObject(node) && isPlainObject(old) && node.plugin !== undefined && node.plugin !== old.plugin) {
      const { params: _dropped, ...rest } = old;
      nodes[id] = rest;
    }
  }
  return { ...base, nodes };
}

/**
 * `set` entries with the node plugin swaps first (stable otherwise), so that a param set beside
 * a swap belongs to the new plugin whatever order the two were written in.
 */
function pluginsFirst<T extends readonly [string, unknown]>(entries: readonly T[]): T[] {
  const isSwap = (key: string) => /^nodes\.[^.]+\.plugin$/.test(key);
  return [...entries.filter(([k]) => isSwap(k)), ...entries.filter(([k]) => !isSwap(k))];
}

/**
 * Sets `path` to `value` inside `root`. The first segment must be a known top-level key,
 * and under `nodes` the node must exist. Setting a component's `component` name to a
 * different component replaces the whole component (its old params belong to the old one), and
 * so does setting a node's `plugin` to another plugin (its params go). `null` deletes the key (a
 * node, a wire, a param, an array item); validation then checks what remains.
 * Returns false and reports through `fail` when the path is bad.
 */
export function applySet(
  root: Record<string, unknown>,
  path: Path,
  value: unknown,
  fail: (message: string, fix?: string) => void,
): boolean {
  if (path.length === 0) {
    fail('empty path');
    return false;
  }
  const top = String(path[0]);
  if (!(TOP_LEVEL_KEYS as readonly string[]).includes(top)) {
    fail(`unknown top-level key "${top}"`, suggestion(top, [...TOP_LEVEL_KEYS]));
    return false;
  }
  if (top === 'nodes' && path.length >= 2) {
    const nodes = isPlainObject(root.nodes) ? root.nodes : {};
    const id = String(path[1]);
    if (!(id in nodes)) {
      const near = suggestion(id, Object.keys(nodes));
      fail(
        `no node "${id}" to set`,
        `${near ? near + '; ' : ''}set: changes existing nodes; to add node "${id}", ` +
          `write it under nodes: in this file (nodes: { ${id}: { plugin: …, in: { … } } })`,
      );
      return false;
    }
    const field = path[2];
    if (field !== undefined && !['plugin', 'params', 'in'].includes(String(field))) {
      fail(`nodes have no field "${String(field)}"`, suggestion(String(field), ['plugin', 'params', 'in']));
      return false;
    }
  }
  const last = path[path.length - 1];
  if (top === 'nodes' && path.length === 3 && last === 'plugin') {
    const node = getPath(root, path.slice(0, 2));
    if (isPlainObject(node) && node.plugin !== value) delete node.params;
  }
  if (last === 'component' && path.length > 1) {
    const parentPath = path.slice(0, -1);
    const parent = getPath(root, parentPath);
    if (isPlainObject(parent) && parent.component !== value) {
      return setAt(root, parentPath, { component: value }, fail);
    }
  }
  return setAt(root, path, value, fail);
}

function setAt(
  root: Record<string, unknown>,
  path: Path,
  value: unknown,
  fail: (message: string, fix?: string) => void,
): boolean {
  let cur: unknown = root;
  for (let i = 0; i < path.length - 1; i++) {
    const seg = path[i];
    let next: unknown =
      Array.isArray(cur) && typeof seg === 'number' ? cur[seg] : isPlainObject(cur) ? cur[String(seg)] : undefined;
    if (next === undefined) {
      if (Array.isArray(cur)) {
        fail(`index ${String(seg)} is out of range at "${formatPath(path.slice(0, i))}"`);
        return false;
      }
      next = {};
      (cur as Record<string, unknown>)[String(seg)] = next;
    }
    if (typeof next !== 'object' || next === null) {
      fail(
        `"${formatPath(path.slice(0, i + 1))}" is a ${typeof next}, not a mapping, so it has no "${String(path[i + 1])}"`,
        'set the whole value instead',
      );
      return false;
    }
    cur = next;
  }
  const lastSeg = path[path.length - 1];
  if (Array.isArray(cur)) {
    if (typeof lastSeg !== 'number' || lastSeg > cur.length) {
      fail(`bad array index "${String(lastSeg)}"`);
      return false;
    }
    if (value === null) cur.splice(lastSeg, 1);
    else cur[lastSeg] = value;
  } else if (value === null) delete (cur as Record<string, unknown>)[String(lastSeg)];
  else (cur as Record<string, unknown>)[String(lastSeg)] = value;
  return true;
}
