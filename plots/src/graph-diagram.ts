import dagre from '@dagrejs/dagre';
import { isPlainObject, parseWire } from '@e3/core';
import { escapeHtml } from './html-page.js';

/** A graph to draw: nodes with a label and a subtitle, edges with a label. */
export interface DiagramGraph {
  readonly nodes: readonly { id: string; title: string; subtitle?: string }[];
  readonly edges: readonly { from: string; to: string; label?: string }[];
}

/** The nodes and wires of a graph spec (`nodes: { id: { plugin, in: { port: "node.output" } } }`). */
export function specDiagram(spec: { nodes?: unknown }): DiagramGraph {
  const object = (v: unknown): Record<string, unknown> => (isPlainObject(v) ? v : {});
  const entries = Object.entries(object(spec.nodes)).map(([id, n]) => [id, object(n)] as const);
  const nodes = Object.fromEntries(entries);
  return {
    nodes: entries.map(([id, n]) => ({
      id,
      title: id,
      subtitle: n.plugin === undefined ? undefined : String(n.plugin),
    })),
    edges: entries
      .flatMap(([id, n]) =>
        Object.entries(object(n.in)).flatMap(([port, wire]) => {
          const ends = parseWire(String(wire));
          if (!ends) return [];
          const { node: from, port: out } = ends;
          return [{ from, to: id, label: out === port ? port : `${out} → ${port}` }];
        }),
      )
      .filter((e) => Object.hasOwn(nodes, e.from)),
  };
}

const CHAR_W = 7;

/** Lays the graph out left to right with dagre and draws it as a standalone SVG. */
export function diagramSvg(g: DiagramGraph): string {
  const layout = new dagre.graphlib.Graph({ multigraph: true });
  layout.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 70, marginx: 12, marginy: 12 });
  layout.setDefaultEdgeLabel(() => ({}));
  for (const n of g.nodes) {
    const chars = Math.max(n.title.length, n.subtitle?.length ?? 0);
    layout.setNode(n.id, { width: chars * CHAR_W + 24, height: n.subtitle ? 44 : 28 });
  }
  g.edges.forEach((e, i) =>
    layout.setEdge(
      e.from,
      e.to,
      { label: e.label, width: (e.label?.length ?? 0) * 6, height: 14, labelpos: 'c' },
      `e${i}`,
    ),
  );
  dagre.layout(layout);
  const { width = 0, height = 0 } = layout.graph();
  const parts: string[] = [];
  for (const e of layout.edges()) {
    const edge = layout.edge(e) as { points: { x: number; y: number }[]; label?: string; x?: number; y?: number };
    const d = edge.points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    parts.push(tag('path', { d, fill: 'none', stroke: '#888', 'stroke-width': 1.2, 'marker-end': 'url(#arrow)' }));
    if (edge.label && edge.x !== undefined && edge.y !== undefined) {
      const at = { x: edge.x, y: edge.y + 4, 'font-size': 10, 'text-anchor': 'middle', fill: '#555' };
      parts.push(tag('text', at, escapeHtml(edge.label)));
    }
  }
  for (const n of g.nodes) {
    const box = layout.node(n.id);
    const x = box.x - box.width / 2;
    const y = box.y - box.height / 2;
    const text = { x: box.x, 'text-anchor': 'middle' };
    parts.push(
      '<g class="node">',
      tag('rect', { x, y, width: box.width, height: box.height, rx: 6, fill: '#eef4fb', stroke: '#4a78b0' }),
      tag('text', { ...text, y: y + 18, 'font-size': 13, 'font-weight': 'bold' }, escapeHtml(n.title)),
      n.subtitle ? tag('text', { ...text, y: y + 35, 'font-size': 11, fill: '#345' }, escapeHtml(n.subtitle)) : '',
      '</g>',
    );
  }
  const [w, h] = [Math.ceil(width), Math.ceil(height)];
  const arrow = tag('marker', ARROW, tag('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#888' }));
  const svg = { xmlns: 'http://www.w3.org/2000/svg', width: w, height: h, viewBox: `0 0 ${w} ${h}` };
  const background = tag('rect', { width: '100%', height: '100%', fill: 'white' });
  return tag('svg', { ...svg, 'font-family': FONT }, `<defs>${arrow}</defs>${background}${parts.join('')}`);
}

const FONT = 'Helvetica, Arial, sans-serif';
const ARROW = {
  id: 'arrow',
  viewBox: '0 0 10 10',
  refX: 10,
  refY: 5,
  markerWidth: 7,
  markerHeight: 7,
  orient: 'auto-start-reverse',
};

/** An SVG element; numbers are written with one decimal at most. */
function tag(name: string, attrs: Record<string, string | number>, content?: string): string {
  const a = Object.entries(attrs)
    .map(([k, v]) => `${k}="${typeof v === 'number' ? Number(v.toFixed(1)) : v}"`)
    .join(' ');
  return content === undefined ? `<${name} ${a}/>` : `<${name} ${a}>${content}</${name}>`;
}
