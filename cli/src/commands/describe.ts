import { stringify } from 'yaml';
import { wireEnds, type JsonSchema, type Registry, type ValidatedGraph } from '@e3/core';

/** The resolved graph as text: nodes in execution order, their wires and params. */
export function describeText(graph: ValidatedGraph, registry: Registry): string {
  const lines = [
    `graph ${graph.file}`,
    `seed ${graph.spec.seed ?? 0}, backend ${describeBackend(graph.spec.backend)}`,
    '',
  ];
  for (const id of graph.order) {
    const n = graph.spec.nodes[id];
    const m = registry.plugin(n.plugin);
    lines.push(`${id}: ${n.plugin} — ${m.doc.split('\n')[0]}`);
    for (const [port, wire] of Object.entries(n.in ?? {}))
      lines.push(`  in  ${port} (${m.inputs[port].type}) ← ${wire}`);
    for (const [port, s] of Object.entries(m.outputs)) lines.push(`  out ${port} (${s.type})`);
    const params = stringify(n.params ?? {}).trimEnd();
    if (params !== '{}') lines.push('  params:', ...params.split('\n').map((l) => '    ' + l));
  }
  return lines.join('\n');
}

/** The resolved graph as data (`e3 describe --json`): nodes in execution order with wires, ports and params. */
export function describeJson(graph: ValidatedGraph, registry: Registry): Record<string, unknown> {
  const nodes = graph.order.map((id) => {
    const n = graph.spec.nodes[id];
    const m = registry.plugin(n.plugin);
    const { inputs, outputs } = m;
    return { id, plugin: n.plugin, doc: m.doc, in: n.in ?? {}, inputs, outputs, params: n.params ?? {} };
  });
  const { seed = 0, backend = 'auto' } = graph.spec;
  return { file: graph.file, seed, backend, order: graph.order, nodes, mermaid: describeMermaid(graph) };
}

/** The graph as a Mermaid flowchart; edges are labelled `port → port`. */
export function describeMermaid(graph: ValidatedGraph): string {
  const lines = ['flowchart LR'];
  const mid = (id: string) => id.replace(/\./g, '__'); // a round's node (round1.search): no dot in a mermaid id
  for (const id of graph.order) lines.push(`  ${mid(id)}["${id}<br/><small>${graph.spec.nodes[id].plugin}</small>"]`);
  for (const id of graph.order) {
    for (const [port, wire] of Object.entries(graph.spec.nodes[id].in ?? {})) {
      const { node: from, port: out } = wireEnds(wire);
      lines.push(`  ${mid(from)} -- "${out} → ${port}" --> ${mid(id)}`);
    }
  }
  return lines.join('\n');
}

/** `e3 plugins`: every plugin with its ports and params, every component with its params. */
export function describeRegistry(registry: Registry): string {
  const out: string[] = ['Plugins (nodes):'];
  for (const m of [...registry.plugins.values()].sort((a, b) => a.key.localeCompare(b.key))) {
    out.push('', `  ${m.key} — ${m.doc}`);
    for (const [p, s] of Object.entries(m.inputs))
      out.push(`    in  ${p}: ${s.type}${s.optional ? ' (optional)' : ''}${s.doc ? ' — ' + s.doc : ''}`);
    for (const [p, s] of Object.entries(m.outputs)) out.push(`    out ${p}: ${s.type}${s.doc ? ' — ' + s.doc : ''}`);
    const supplies = Object.entries(m.supplies ?? {}).map(([need, s]) =>
      s.input ? `${need} (with ${s.input} wired)` : need,
    );
    if (supplies.length) out.push(`    supplies ${supplies.join(', ')}`);
    out.push(...describeParams(m.params, '    '));
  }
  out.push('', 'Components:');
  for (const c of [...registry.components.values()].sort((a, b) => a.key.localeCompare(b.key))) {
    out.push('', `  ${c.key} (${c.kind}) — ${c.doc}`);
    if (c.requires?.length) out.push(`    requires ${c.requires.join(', ')}`);
    out.push(...describeParams(c.params, '    '));
  }
  return out.join('\n');
}

function describeParams(schema: JsonSchema, indent: string): string[] {
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(props).map(([k, s]) => {
    const type = s['x-component']
      ? `${String(s['x-component'])} component`
      : s.enum
        ? (s.enum as unknown[]).map((v) => JSON.stringify(v)).join('|')
        : ((s.type as string) ?? 'any');
    const def = s.default !== undefined ? ` = ${JSON.stringify(s.default)}` : required.has(k) ? ' (required)' : '';
    return `${indent}param ${k}: ${type}${def}${s.description ? ' — ' + String(s.description) : ''}`;
  });
}

/** A graph's `backend:` in one phrase: `wasm`, or `cpu (fused: false, threads: 1)`. */
function describeBackend(backend: unknown): string {
  if (!backend || typeof backend !== 'object') return String(backend ?? 'auto');
  const { name, ...options } = backend as Record<string, unknown>;
  const set = Object.entries(options).map(([k, v]) => `${k}: ${String(v)}`);
  return `${String(name ?? 'auto')}${set.length ? ` (${set.join(', ')})` : ''}`;
}
