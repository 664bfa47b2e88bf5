import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GraphError, type Diagnostic } from '../errors.js';
import type { JsonSchema, PluginManifest } from '../registry/manifest.js';
import type { Registry } from '../registry/registry.js';
import { suggestion } from './did-you-mean.js';
import type { LoadedGraph } from './load-graph.js';
import { formatPath, isPlainObject, type Path } from './paths.js';
import { checkSchema } from './schema-check.js';
import { parseWire, type GraphSpec } from './spec.js';
import { toposort } from './toposort.js';

/**
 * The graph's own JSON Schema (`schemas/graph-core.schema.json`, written by hand): the shape of a
 * merged graph. Params are checked per plugin below; `e3 schemas` generates graph.schema.json
 * from both for editors.
 */
export const GRAPH_SCHEMA: JsonSchema = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../schemas/graph-core.schema.json', import.meta.url)), 'utf8'),
);

/** A graph that passed every check, defaults filled in, nodes in execution order. */
export interface ValidatedGraph {
  readonly file: string;
  readonly spec: GraphSpec;
  readonly order: readonly string[];
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
    problems.push({ ...sources.locate(path), field: extra.field ?? (path.length > 2 ? formatPath(path.slice(2)) : undefined), node: extra.node, message, fix: extra.fix });

  for (const p of checkSchema(GRAPH_SCHEMA, spec)) {
    const node = p.path[0] === 'nodes' && p.path.length > 1 ? String(p.path[1]) : undefined;
    report(p.path, p.message, { node, fix: p.fix, field: node ? formatPath(p.path.slice(2)) || undefined : formatPath(p.path) });
  }
  const nodes = isPlainObject(spec.nodes) ? spec.nodes : {};
  const ids = Object.keys(nodes);
  const manifests = new Map<string, PluginManifest>();

  for (const id of ids) {
    const node = nodes[id];
    if (!isPlainObject(node) || typeof node.plugin !== 'string') continue;
    const manifest = registry.plugins.get(node.plugin);
    if (!manifest) {
      report(['nodes', id, 'plugin'], `unknown plugin "${node.plugin}"`, { node: id, fix: `${suggestion(node.plugin, [...registry.plugins.keys()])} (list them with: e3 plugins)`, field: 'plugin' });
      continue;
    }
    manifests.set(id, manifest);
    if (!isPlainObject(node.params)) continue;
    for (const p of checkSchema(manifest.params, node.params)) {
      report(['nodes', id, 'params', ...p.path], p.message, { node: id, fix: p.fix });
    }
    checkComponents(manifest.params, node.params, ['nodes', id, 'params'], id, registry, report);
  }

  const deps = new Map<string, string[]>();
  for (const [id, manifest] of manifests) {
    const wires = isPlainObject(nodes[id].in) ? (nodes[id].in as Record<string, unknown>) : {};
    const inputs = Object.keys(manifest.inputs);
    deps.set(id, []);
    for (const [port, wire] of Object.entries(wires)) {
      const at: Path = ['nodes', id, 'in', port];
      if (!(port in manifest.inputs)) {
        report(at, `plugin ${manifest.key} has no input port "${port}", so this wire would be unused`, { node: id, fix: `${suggestion(port, inputs)}`, field: `in.${port}` });
        continue;
      }
      const w = typeof wire === 'string' ? parseWire(wire) : undefined;
      if (!w) continue; // the graph schema already reported its shape
      if (!(w.node in nodes)) {
        report(at, `wire "${wire}" names a missing node "${w.node}"`, { node: id, fix: suggestion(w.node, ids), field: `in.${port}` });
        continue;
      }
      deps.get(id)!.push(w.node);
      const producer = manifests.get(w.node);
      if (!producer) continue;
      const out = producer.outputs[w.port];
      if (!out) {
        report(at, `node "${w.node}" (${producer.key}) has no output port "${w.port}"`, { node: id, fix: suggestion(w.port, Object.keys(producer.outputs)), field: `in.${port}` });
        continue;
      }
      const want = manifest.inputs[port].type;
      if (want !== 'any' && out.type !== 'any' && want !== out.type) {
        report(at, `port type mismatch: ${w.node}.${w.port} is ${out.type} but ${id}.${port} takes ${want}`, { node: id, fix: `wire an output of type ${want}`, field: `in.${port}` });
      }
    }
    for (const [port, spec] of Object.entries(manifest.inputs)) {
      if (!spec.optional && !(port in wires)) {
        report(['nodes', id], `missing required input "${port}" (${spec.type})`, { node: id, fix: `add in: { ${port}: <node>.<port> }`, field: `in.${port}` });
      }
    }
  }
  const { order, cycles } = toposort(ids, deps);
  for (const cycle of cycles) {
    report(['nodes', cycle[0]], `cycle: ${cycle.join(' → ')}`, { node: cycle[0], fix: 'a graph must be acyclic; remove one of these wires' });
  }
  if (problems.length) throw new GraphError(problems);
  return { file: loaded.file, spec, order };
}

type Report = (path: Path, message: string, extra?: { node?: string; fix?: string; field?: string }) => void;

/** Walks a params value beside its schema; validates each component slot against its component. */
function checkComponents(schema: JsonSchema, value: unknown, at: Path, node: string, registry: Registry, report: Report): void {
  const kind = schema['x-component'];
  if (typeof kind === 'string') {
    checkComponent(kind, value, at, node, registry, report);
    return;
  }
  const props = schema.properties as Record<string, JsonSchema> | undefined;
  if (props && isPlainObject(value)) {
    for (const [k, s] of Object.entries(props)) if (k in value) checkComponents(s, value[k], [...at, k], node, registry, report);
  }
  const items = schema.items as JsonSchema | undefined;
  if (items && Array.isArray(value)) value.forEach((v, i) => checkComponents(items, v, [...at, i], node, registry, report));
}

function checkComponent(kind: string, value: unknown, at: Path, node: string, registry: Registry, report: Report): void {
  const options = registry.componentsOfKind(kind);
  if (!isPlainObject(value) || typeof value.component !== 'string') {
    report(at, `expected a ${kind} component`, { node, fix: `write { component: ${options[0] ?? `${kind}.name`}, … } (${kind} components: ${options.join(', ')})` });
    return;
  }
  const c = registry.components.get(value.component);
  if (!c) {
    report([...at, 'component'], `unknown component "${value.component}"`, { node, fix: suggestion(value.component, options.length ? options : [...registry.components.keys()]) });
    return;
  }
  if (c.kind !== kind) {
    report([...at, 'component'], `"${c.key}" is a ${c.kind} component, but this slot takes a ${kind}`, { node, fix: `use one of: ${options.join(', ')}` });
    return;
  }
  const schema = componentSchema(c.params);
  for (const p of checkSchema(schema, value)) report([...at, ...p.path], `${c.key}: ${p.message}`, { node, fix: p.fix });
  checkComponents(schema, value, at, node, registry, report);
}

const wrapped = new WeakMap<JsonSchema, JsonSchema>();
/** A component's params schema plus its `component` key; unknown fields are errors. */
export function componentSchema(params: JsonSchema): JsonSchema {
  let s = wrapped.get(params);
  if (!s) {
    s = { type: 'object', additionalProperties: false, ...params, properties: { component: { type: 'string' }, ...(params.properties as object) } };
    wrapped.set(params, s);
  }
  return s;
}
