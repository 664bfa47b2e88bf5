import dagre from '@dagrejs/dagre';
import { escapeHtml } from './html-page.js';

/** A graph to draw: nodes with a label and a subtitle, edges with a label. */
export interface DiagramGraph {
  readonly nodes: readonly { id: string; title: string; subtitle?: string }[];
  readonly edges: readonly { from: string; to: string; label?: string }[];
}

/** The nodes and wires of a graph spec (`nodes: { id: { plugin, in: { port: "node.output" } } }`). */
export function specDiagram(spec: { nodes?: Record<string, { plugin?: string; in?: Record<string, string> }> }): DiagramGraph {
  const entries = Object.entries(spec.nodes ?? {});
  return {
    nodes: entries.map(([id, n]) => ({ id, title: id, subtitle: n.plugin })),
    edges: entries.flatMap(([id, n]) => Object.entries(n.in ?? {}).map(([port, wire]) => {
      const [from, out] = String(wire).split('.');
      return { from, to: id, label: out === port ? port : `${out} → ${port}` };
    })).filter((e) => spec.nodes?.[e.from]),
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
  g.edges.forEach((e, i) => layout.setEdge(e.from, e.to, { label: e.label, width: (e.label?.length ?? 0) * 6, height: 14, labelpos: 'c' }, `e${i}`));
  dagre.layout(layout);
  const { width = 0, height = 0 } = layout.graph();
  const parts: string[] = [];
  for (const e of layout.edges()) {
    const edge = layout.edge(e) as { points: { x: number; y: number }[]; label?: string; x?: number; y?: number };
    const d = edge.points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="#888" stroke-width="1.2" marker-end="url(#arrow)"/>`);
    if (edge.label && edge.x !== undefined) {
      parts.push(`<text x="${edge.x.toFixed(1)}" y="${(edge.y! + 4).toFixed(1)}" font-size="10" text-anchor="middle" fill="#555">${escapeHtml(edge.label)}</text>`);
    }
  }
  for (const n of g.nodes) {
    const box = layout.node(n.id);
    const x = box.x - box.width / 2;
    const y = box.y - box.height / 2;
    parts.push(`<g class="node"><rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${box.width}" height="${box.height}" rx="6" fill="#eef4fb" stroke="#4a78b0"/>`,
      `<text x="${box.x.toFixed(1)}" y="${(y + 18).toFixed(1)}" font-size="13" font-weight="bold" text-anchor="middle">${escapeHtml(n.title)}</text>`,
      n.subtitle ? `<text x="${box.x.toFixed(1)}" y="${(y + 35).toFixed(1)}" font-size="11" text-anchor="middle" fill="#345">${escapeHtml(n.subtitle)}</text>` : '',
      '</g>');
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(width)}" height="${Math.ceil(height)}" viewBox="0 0 ${Math.ceil(width)} ${Math.ceil(height)}" font-family="Helvetica, Arial, sans-serif">` +
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#888"/></marker></defs>' +
    `<rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>`;
}
