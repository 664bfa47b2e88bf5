import { GraphError, type Diagnostic } from '../errors.js';
import type { ComponentManifest, JsonSchema, PluginManifest } from '../registry/manifest.js';
import type { Registry } from '../registry/registry.js';
import { suggestion } from '../did-you-mean.js';
import type { LoadedGraph } from './load-graph.js';
import { formatPath, isPlainObject, type Path } from './paths.js';
import { checkSchema } from './schema-check.js';
import { parseWire, type GraphSpec } from './spec.js';
import { toposort } from './toposort.js';
import { reportDirs } from './report-names.js';
import { COMPONENT_NAME_SCHEMA, nameCollisions } from './component-names.js';

export { GRAPH_SCHEMA } from './graph-schema.js';
import { GRAPH_SCHEMA } from './graph-schema.js';

/** A graph that passed every check, defaults filled in, nodes in execution order. */
export interface ValidatedGraph {
  readonly file: string;
  readonly spec: GraphSpec;
  readonly order: readonly string[];
  /** Report-writing nodes → their report directory, relative to the run directory (report-names.ts). */
  readonly reportDirs?: ReadonlyMap<string, string>;
}

/**
 * Checks everything that can be checked before a tensor exists: the graph schema, plugin
 * and component names, each params schema (filling defaults), component kinds, wires,
 * port types, required inputs and cycles. Throws one GraphError listing every problem.
 */
export function validateGraph(loaded: LoadedGraph, registry: Registry): ValidatedGraph {
  const { spec, sources } = loaded;
  const problems: Diagnostic[] = [];
  const report = (path: Path, message: string, extra: { node?: string; fix?: string; field?: string } = {}) =>
    problems.push({
      ...sources.locate(path),
      field: extra.field ?? (path.length > 2 ? formatPath(path.slice(2)) : undefined),
      node: extra.node,
      message,
      fix: extra.fix,
    });

  for (const p of checkSchema(GRAPH_SCHEMA, spec)) {
    const node = p.path[0] === 'nodes' && p.path.length > 1 ? String(p.path[1]) : undefined;
    report(p.path, p.message, {
      node,
      fix: p.fix,
      field: node ? formatPath(p.path.slice(2)) || undefined : formatPath(p.path),
    });
  }
  const nodes = isPlainObject(spec.nodes) ? spec.nodes : {};
  const ids = Object.keys(nodes);
  const manifests = new Map<string, PluginManifest>();

  for (const id of ids) {
    const node = nodes[id];
    if (!isPlainObject(node) || typeof node.plugin !== 'string') continue;
    const manifest = registry.plugins.get(node.plugin);
    if (!manifest) {
      report(['nodes', id, 'plugin'], `unknown plugin "${node.plugin}"`, {
        node: id,
        fix: `${suggestion(node.plugin, [...registry.plugins.keys()])} (list them with: e3 plugins)`,
        field: 'plugin',
      });
      continue;
    }
    manifests.set(id, manifest);
    if (!isPlainObject(node.params)) continue;
    const wired = new Set(isPlainObject(node.in) ? Object.keys(node.in) : []);
    checkNodeParams(node.params, ['nodes', id, 'params'], { id, manifest, wired }, registry, report);
  }

  const deps = checkWires(nodes, manifests, report);
  const names = reportDirs(spec, manifests);
  for (const p of names.problems) report(p.path, p.message, { node: p.node, fix: p.fix, field: 'params.name' });
  const { order, cycles } = toposort(ids, deps);
  for (const cycle of cycles) {
    report(['nodes', cycle[0]], `cycle: ${cycle.join(' → ')}`, {
      node: cycle[0],
      fix: 'a graph must be acyclic; remove one of these wires',
    });
  }
  if (problems.length) throw new GraphError(onceEach(problems));
  return { file: loaded.file, spec, order, reportDirs: names.dirs };
}

/**
 * Checks each wire of the nodes whose plugin is known (its port, the node and output it names, the
 * port types) and that every required input is wired; returns node → the nodes it reads from.
 */
function checkWires(
  nodes: Record<string, unknown>,
  manifests: ReadonlyMap<string, PluginManifest>,
  report: Report,
): Map<string, string[]> {
  const ids = Object.keys(nodes);
  const deps = new Map<string, string[]>();
  for (const [id, manifest] of manifests) {
    const node = nodes[id] as Record<string, unknown>;
    const wires = isPlainObject(node.in) ? node.in : {};
    const inputs = Object.keys(manifest.inputs);
    deps.set(id, []);
    for (const [port, wire] of Object.entries(wires)) {
      const at: Path = ['nodes', id, 'in', port];
      if (!(port in manifest.inputs)) {
        report(at, `plugin ${manifest.key} has no input port "${port}", so this wire would be unused`, {
          node: id,
          fix: `${suggestion(port, inputs)}`,
          field: `in.${port}`,
        });
        continue;
      }
      const w = typeof wire === 'string' ? parseWire(wire) : undefined;
      if (!w) continue; // the graph schema already reported its shape
      if (!(w.node in nodes)) {
        report(at, `wire "${wire}" names a missing node "${w.node}"`, {
          node: id,
          fix: suggestion(w.node, ids),
          field: `in.${port}`,
        });
        continue;
      }
      deps.get(id)!.push(w.node);
      const producer = manifests.get(w.node);
      if (!producer) continue;
      const out = producer.outputs[w.port];
      if (!out) {
        report(at, `node "${w.node}" (${producer.key}) has no output port "${w.port}"`, {
          node: id,
          fix: suggestion(w.port, Object.keys(producer.outputs)),
          field: `in.${port}`,
        });
        continue;
      }
      const want = manifest.inputs[port].type;
      if (want !== 'any' && out.type !== 'any' && want !== out.type) {
        report(at, `port type mismatch: ${w.node}.${w.port} is ${out.type} but ${id}.${port} takes ${want}`, {
          node: id,
          fix: `wire an output of type ${want}`,
          field: `in.${port}`,
        });
      }
    }
    for (const [port, spec] of Object.entries(manifest.inputs)) {
      if (!spec.optional && !(port in wires)) {
        report(['nodes', id], `missing required input "${port}" (${spec.type})`, {
          node: id,
          fix: `add in: { ${port}: <node>.<port> }`,
          field: `in.${port}`,
        });
      }
    }
  }
  return deps;
}

/** Each problem once: the rounds of a repeat group share their written node, so they share its problems. */
function onceEach(problems: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return problems.filter((d) => {
    const key = JSON.stringify([d.file, d.line, d.col, d.field, d.message]);
    return !seen.has(key) && Boolean(seen.add(key));
  });
}

export type Report = (path: Path, message: string, extra?: { node?: string; fix?: string; field?: string }) => void;

/**
 * Checks one node's params against its plugin's schema, filling defaults, then each component in
 * them against its own schema (defaults too) and its requirements against what the node supplies.
 * `at` is where the params stand in the graph; each problem goes to `report`.
 */
export function checkNodeParams(
  params: Record<string, unknown>,
  at: Path,
  host: Host,
  registry: Registry,
  report: Report,
): void {
  for (const p of checkSchema(host.manifest.params, params))
    report([...at, ...p.path], p.message, { node: host.id, fix: p.fix });
  checkComponents(host.manifest.params, params, at, { host, registry, report });
}

/** The node whose params hold the components being checked. */
export interface Host {
  readonly id: string;
  readonly manifest: PluginManifest;
  /** Its wired input ports. */
  readonly wired: ReadonlySet<string>;
}

/** The node whose components are checked, the registry they come from, and where problems go. */
interface ComponentCheck {
  readonly host: Host;
  readonly registry: Registry;
  readonly report: Report;
}

/** Walks a params value beside its schema; validates each component slot against its component. */
function checkComponents(schema: JsonSchema, value: unknown, at: Path, check: ComponentCheck): void {
  const kind = schema['x-component'];
  if (typeof kind === 'string') {
    checkComponent(kind, value, at, check, typeof at[at.length - 1] === 'number');
    return;
  }
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  if (props && isPlainObject(value)) {
    for (const [k, s] of Object.entries(props)) if (k in value) checkComponents(s, value[k], [...at, k], check);
  }
  const items = schema.items as JsonSchema | undefined;
  if (items && Array.isArray(value)) {
    value.forEach((v, i) => checkComponents(items, v, [...at, i], check));
    if (typeof items['x-component'] === 'string')
      for (const p of nameCollisions(value, at)) check.report(p.path, p.message, { node: check.host.id, fix: p.fix });
  }
}

function checkComponent(kind: string, value: unknown, at: Path, check: ComponentCheck, inList: boolean): void {
  const { host, registry, report } = check;
  const node = host.id;
  const options = registry.componentsOfKind(kind);
  if (!isPlainObject(value) || typeof value.component !== 'string') {
    report(at, `expected a ${kind} component`, {
      node,
      fix: `write { component: ${options[0] ?? `${kind}.name`}, … } (${kind} components: ${options.join(', ')})`,
    });
    return;
  }
  const c = registry.components.get(value.component);
  if (!c) {
    report([...at, 'component'], `unknown component "${value.component}"`, {
      node,
      fix: suggestion(value.component, options.length ? options : [...registry.components.keys()]),
    });
    return;
  }
  if (c.kind !== kind) {
    report([...at, 'component'], `"${c.key}" is a ${c.kind} component, but this slot takes a ${kind}`, {
      node,
      fix: `use one of: ${options.join(', ')}`,
    });
    return;
  }
  const schema = componentSchema(c.params, inList);
  for (const p of checkSchema(schema, value))
    report([...at, ...p.path], `${c.key}: ${p.message}`, { node, fix: p.fix });
  checkRequirements(c, [...at, 'component'], host, registry, report);
  checkComponents(schema, value, at, check);
}

/** Refuses a component that needs something (teacher targets, hidden states…) its node cannot supply. */
function checkRequirements(c: ComponentManifest, at: Path, host: Host, registry: Registry, report: Report): void {
  for (const need of c.requires ?? []) {
    const supply = host.manifest.supplies?.[need];
    if (!supply) {
      const able = [...registry.plugins.values()].filter((m) => m.supplies?.[need]).map((m) => m.key);
      report(at, `${c.key} needs ${need}, which ${host.manifest.key} cannot supply`, {
        node: host.id,
        fix: able.length
          ? `use ${c.key} in a node that supplies ${need} (${able.join(', ')}), or choose another ${c.kind}`
          : `choose another ${c.kind}`,
      });
    } else if (supply.input && !host.wired.has(supply.input)) {
      const port = host.manifest.inputs[supply.input];
      report(
        at,
        `${c.key} needs ${need}, which ${host.manifest.key} supplies only from its "${supply.input}" input, and that is not wired`,
        {
          node: host.id,
          fix: `add in: { ${supply.input}: <node>.<port> }${port ? ` (a ${port.type} output)` : ''}`,
        },
      );
    }
  }
}

const wrapped = new WeakMap<JsonSchema, JsonSchema>();
const wrappedNamed = new WeakMap<JsonSchema, JsonSchema>();
/**
 * A component's params schema plus its `component` key (and, for an item of a list of components,
 * its `name`: component-names.ts); unknown fields are errors.
 */
export function componentSchema(params: JsonSchema, inList = false): JsonSchema {
  if (inList) {
    let named = wrappedNamed.get(params);
    if (!named) {
      const s = componentSchema(params);
      named = { ...s, properties: { ...(s.properties as object), name: COMPONENT_NAME_SCHEMA } };
      wrappedNamed.set(params, named);
    }
    return named;
  }
  let s = wrapped.get(params);
  if (!s) {
    s = {
      type: 'object',
      additionalProperties: false,
      ...params,
      properties: { component: { type: 'string' }, ...(params.properties as object) },
    };
    wrapped.set(params, s);
  }
  return s;
}
