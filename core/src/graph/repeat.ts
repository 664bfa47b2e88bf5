import type { JsonSchema } from '../registry/manifest.js';
import { suggestion } from '../did-you-mean.js';
import { isPlainObject, type Path } from './paths.js';
import { checkSchema } from './schema-check.js';
import type { SourceMap } from './source-map.js';
import { parseWire } from './spec.js';

/** One problem found while unrolling `repeat:` groups, at a path of the graph as written. */
export interface RepeatProblem {
  readonly path: Path;
  readonly message: string;
  readonly fix?: string;
  readonly node?: string;
}

interface Group {
  readonly name: string;
  readonly times: number;
  readonly in: Record<string, string>;
  readonly carry: Record<string, string>;
  readonly nodes: Record<string, Record<string, unknown>>;
}

/** Round `k`'s copy of node `id` of group `group`: `round1.search`. */
export function roundNodeId(group: string, k: number, id: string): string {
  return `${group}${k}.${id}`;
}

/**
 * Unrolls the graph's `repeat:` groups into plain nodes, in place: group `g` with `times: N` becomes
 * the nodes `g1.x … gN.x` for each of its nodes `x`. Inside the group a wire to `x.port` reads the
 * same round's `x`; a wire to `g.port` reads the group's port: in round 1 (and in every round for a
 * port that is not carried) the outer wire `in.port`, in round k+1 round k's `carry.port`. Outside
 * the group, `g.port` reads the last round's carried port (or the group's `in` wire).
 * `sources` learns where each unrolled node was written, so that later errors point into the group.
 * Returns the problems; the graph is left unrolled only when there are none.
 */
export function unrollRepeats(
  spec: Record<string, unknown>,
  graphSchema: JsonSchema,
  sources: SourceMap,
): RepeatProblem[] {
  if (spec.repeat === undefined) return [];
  const problems: RepeatProblem[] = checkSchema(repeatSchema(graphSchema), { repeat: spec.repeat });
  if (problems.length || !isPlainObject(spec.repeat)) return problems;
  const nodes = isPlainObject(spec.nodes) ? spec.nodes : {};
  const groups = Object.entries(spec.repeat).map(([name, g]) => ({ name, ...(g as object) }) as Group);
  for (const g of groups) problems.push(...groupProblems(g, nodes));
  for (const id of Object.keys(nodes).filter((id) => id.includes('.')))
    problems.push({
      path: ['nodes', id],
      message: `node id "${id}" has a dot, which only the rounds of a repeat: group have`,
      fix: `rename it, e.g. ${id.replace(/\./g, '_')}`,
    });
  const byName = new Map(groups.map((g) => [g.name, g]));
  for (const [at, wire] of outerWires(nodes, groups)) {
    const w = parseWire(wire);
    const g = w && byName.get(w.node);
    if (g && groupOutput(g, w.port) === undefined) problems.push(missingPort(g, wire, w.port, at));
  }
  if (problems.length) return problems;

  const unrolled: Record<string, unknown> = {};
  for (const g of groups) {
    for (let k = 1; k <= g.times; k++) {
      for (const [id, node] of Object.entries(g.nodes)) {
        const wires = isPlainObject(node.in) ? (node.in as Record<string, string>) : {};
        const rewired = Object.fromEntries(Object.entries(wires).map(([p, w]) => [p, innerWire(g, k, w)]));
        unrolled[roundNodeId(g.name, k, id)] = { ...structuredClone(node), in: rewired };
        sources.addAlias(['nodes', roundNodeId(g.name, k, id)], ['repeat', g.name, 'nodes', id]);
      }
    }
  }
  const outer = (w: string) => {
    const p = parseWire(w);
    const g = p && byName.get(p.node);
    return g ? groupOutput(g, p.port)! : w;
  };
  for (const node of [...Object.values(nodes), ...Object.values(unrolled)])
    if (isPlainObject(node) && isPlainObject(node.in)) node.in = rewire(node.in, outer);
  spec.nodes = { ...nodes, ...unrolled };
  delete spec.repeat;
  return [];
}

const repeatSchemas = new WeakMap<JsonSchema, JsonSchema>();
/** The graph schema's `repeat` (its nodes refer to the graph's node schema), alone. */
function repeatSchema(graphSchema: JsonSchema): JsonSchema {
  let s = repeatSchemas.get(graphSchema);
  if (!s) {
    const { repeat, nodes } = graphSchema.properties as Record<string, JsonSchema>;
    s = { type: 'object', properties: { repeat, nodes } };
    repeatSchemas.set(graphSchema, s);
  }
  return s;
}

function rewire(wires: Record<string, unknown>, f: (w: string) => string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(wires).map(([p, w]) => [p, typeof w === 'string' ? f(w) : w]));
}

/** What a wire inside group `g`, in round `k`, reads: this round's node, the group's port, or an outer node. */
function innerWire(g: Group, k: number, wire: string): string {
  const w = parseWire(wire);
  if (!w) return wire;
  if (w.node in g.nodes) return `${roundNodeId(g.name, k, w.node)}.${w.port}`;
  if (w.node !== g.name) return wire;
  if (k > 1 && w.port in g.carry)
    return `${roundNodeId(g.name, k - 1, parseWire(g.carry[w.port])!.node)}.${parseWire(g.carry[w.port])!.port}`;
  return g.in[w.port];
}

/** The last round's value of the group's port `port` (undefined: no such port). */
function groupOutput(g: Group, port: string): string | undefined {
  const carried = g.carry[port];
  if (carried) {
    const c = parseWire(carried)!;
    return `${roundNodeId(g.name, g.times, c.node)}.${c.port}`;
  }
  return g.in[port];
}

/** Every way a group can be miswired, checked before anything is unrolled. */
function groupProblems(g: Group, nodes: Record<string, unknown>): RepeatProblem[] {
  const out: RepeatProblem[] = [];
  const at = (...rest: (string | number)[]): Path => ['repeat', g.name, ...rest];
  const ports = [...new Set([...Object.keys(g.in), ...Object.keys(g.carry)])];
  if (g.name in nodes)
    out.push({
      path: at(),
      message: `repeat group "${g.name}" has the name of node "${g.name}"`,
      fix: 'rename the group or the node: a wire to <group>.<port> must say which it reads',
    });
  for (const id of Object.keys(nodes).filter((id) => new RegExp(`^${g.name}\\d+$`).test(id)))
    out.push({
      path: ['nodes', id],
      message: `node "${id}" has the name of a round of repeat group "${g.name}" (${g.name}1, ${g.name}2, …)`,
      fix: `rename node "${id}" or the group`,
    });
  for (const [port, wire] of Object.entries(g.carry)) {
    const c = parseWire(wire)!;
    if (!(c.node in g.nodes))
      out.push({
        path: at('carry', port),
        message: `carry.${port} reads "${wire}", but "${c.node}" is not a node of repeat group "${g.name}"`,
        fix: `carry reads a node of the group: ${suggestion(c.node, Object.keys(g.nodes))}`,
      });
    if (!(port in g.in))
      out.push({
        path: at('carry', port),
        message: `carried port "${port}" has no value for round 1`,
        fix: `add in: { ${port}: <node>.<port> } to repeat group "${g.name}"`,
      });
  }
  for (const [id, node] of Object.entries(g.nodes)) {
    const wires = isPlainObject(node.in) ? node.in : {};
    for (const [port, wire] of Object.entries(wires)) {
      const w = typeof wire === 'string' ? parseWire(wire) : undefined;
      if (w?.node === g.name && !ports.includes(w.port))
        out.push(missingPort(g, String(wire), w.port, at('nodes', id, 'in', port)));
    }
  }
  return out;
}

/** Every wire that may name a group from outside it: outer nodes' and other groups' nodes'. */
function outerWires(nodes: Record<string, unknown>, groups: readonly Group[]): [Path, string][] {
  const wiresOf = (node: unknown, at: Path): [Path, string][] =>
    isPlainObject(node) && isPlainObject(node.in)
      ? Object.entries(node.in).flatMap(([p, w]) => (typeof w === 'string' ? [[[...at, p], w] as [Path, string]] : []))
      : [];
  return [
    ...Object.entries(nodes).flatMap(([id, n]) => wiresOf(n, ['nodes', id, 'in'])),
    ...groups.flatMap((g) =>
      Object.entries(g.nodes).flatMap(([id, n]) =>
        wiresOf(n, ['repeat', g.name, 'nodes', id, 'in']).filter(([, w]) => parseWire(w)?.node !== g.name),
      ),
    ),
  ];
}

/** A wire names a port the group does not have. */
function missingPort(g: Group, wire: string, port: string, path: Path): RepeatProblem {
  const ports = [...new Set([...Object.keys(g.in), ...Object.keys(g.carry)])];
  return {
    path,
    message: `wire "${wire}" names port "${port}" of repeat group "${g.name}", which has no such port`,
    fix: ports.length
      ? `${suggestion(port, ports)}; or read one round's node, e.g. ` +
        `${roundNodeId(g.name, g.times, Object.keys(g.nodes)[0])}.<port>`
      : `declare it on the group: in: { ${port}: <node>.<port> }`,
  };
}
