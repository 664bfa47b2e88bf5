import { parse } from 'yaml';
import { barChart, diagramSvg, heatmap, lineChart, renderChart, specDiagram, type ChartSpec } from '@e3/core';
import type { LayerMaskResult } from '../model/prune-node.js';
import { candidatesOf } from './mask-explanation.js';

/** One figure of the report: an SVG file under figures/ and where it belongs. */
export interface ReportFigure {
  readonly id: string;
  /** Relative to the report: `figures/<id>.svg`. */
  readonly file: string;
  readonly section: 'search' | 'training' | 'quality' | 'graph';
  readonly caption: string;
  readonly svg: string;
}

type Row = Record<string, number>;

const NOT_TERMS = new Set(['step', 'lr', 'gradNorm', 'tokens', 'tau', 'k']);
const perLayer = (row: Row, prefix: string) => Object.keys(row).filter((k) => new RegExp(`^${prefix}\\d+$`).test(k));

/** Rows of one value per layer per recorded step: `{ step, layer, value }`. */
function layerRows(history: Row[], prefix: string): Row[] {
  return history.flatMap((r) =>
    perLayer(r, prefix).map((k) => ({ step: r.step, layer: Number(k.slice(prefix.length)), value: r[k] })),
  );
}

/** The chart specs of a report's JSON: what the data supports, nothing for what is absent. */
export function reportCharts(
  j: Record<string, any>,
): { id: string; section: ReportFigure['section']; caption: string; spec: ChartSpec }[] {
  const out: ReturnType<typeof reportCharts> = [];
  for (const r of (j.search?.restarts ?? []) as { restart: number; history: Row[] }[]) {
    const alpha = layerRows(r.history, 'alpha');
    if (alpha.length) {
      out.push({
        id: `search-alpha-r${r.restart}`,
        section: 'search',
        caption: `Mask logits α per layer over the search steps (restart ${r.restart}).`,
        spec: lineChart({
          title: `α per layer, restart ${r.restart}`,
          rows: alpha,
          x: { field: 'step', title: 'search step' },
          y: { field: 'value', title: 'α' },
          series: { field: 'layer', title: 'layer' },
        }),
      });
    }
    const keep = layerRows(r.history, 'keep');
    if (keep.length) {
      out.push({
        id: `search-keep-r${r.restart}`,
        section: 'search',
        caption:
          'Keep probability per layer: the share of sampled masks that kept the layer since the previous ' +
          `recorded step (restart ${r.restart}).`,
        spec: heatmap({
          title: `Keep probability per layer, restart ${r.restart}`,
          rows: keep,
          x: { field: 'step', title: 'search step' },
          y: { field: 'layer', title: 'layer' },
          value: { field: 'value', title: 'keep p' },
        }),
      });
    }
  }
  const cands = candidatesOf(j.mask as LayerMaskResult | undefined);
  if (cands.length) {
    const chosen = (j.mask as LayerMaskResult).mask.join('');
    const rows = cands.map((c) => ({
      candidate: `r${c.restart ?? 0} ${c.source} [${c.mask.join('')}]`,
      kl: c.kl,
      chosen: c.mask.join('') === chosen ? 'chosen' : 'candidate',
    }));
    if (!rows.some((r) => r.chosen === 'chosen'))
      rows.unshift({
        candidate: `${String(j.mask.details.chosenFrom)} [${chosen}]`,
        kl: j.mask.details.calibrationKl,
        chosen: 'chosen',
      });
    out.push({
      id: 'search-candidates',
      section: 'search',
      caption: 'Calibration KL of each candidate mask (lower is better); the chosen one is highlighted.',
      spec: barChart({
        title: 'Candidate masks by calibration KL',
        rows,
        category: { field: 'candidate', title: 'candidate' },
        value: { field: 'kl', title: 'calibration KL' },
        highlight: { field: 'chosen', title: '' },
      }),
    });
  }
  const hist = (j.training?.history ?? []) as Row[];
  if (hist.length) {
    const terms = [...new Set(hist.flatMap((r) => Object.keys(r)))].filter(
      (k) => !NOT_TERMS.has(k) && !/^(alpha|keep)\d+$/.test(k),
    );
    const rows = hist.flatMap((r) =>
      terms.filter((t) => r[t] !== undefined).map((t) => ({ step: r.step, term: t, value: r[t] })),
    );
    out.push({
      id: 'training-loss',
      section: 'training',
      caption: 'Total loss and each loss term over the recovery steps.',
      spec: lineChart({
        title: 'Loss terms',
        rows,
        x: { field: 'step', title: 'step' },
        y: { field: 'value', title: 'loss' },
        series: { field: 'term', title: 'term' },
      }),
    });
    out.push({
      id: 'training-lr',
      section: 'training',
      caption: 'Learning rate schedule (warm-up, then cosine decay).',
      spec: lineChart({
        title: 'Learning rate',
        rows: hist,
        x: { field: 'step', title: 'step' },
        y: { field: 'lr', title: 'learning rate' },
        height: 160,
      }),
    });
  }
  const curve = (j.training?.evalCurve ?? []) as Row[];
  if (curve.length) {
    out.push({
      id: 'heldout-accuracy',
      section: 'quality',
      caption: 'Held-out exact match against training tokens.',
      spec: lineChart({
        title: 'Held-out exact match',
        rows: curve,
        x: { field: 'tokens', title: 'tokens' },
        y: { field: 'accuracy', title: 'exact match' },
        height: 180,
      }),
    });
    out.push({
      id: 'heldout-kl',
      section: 'quality',
      caption: 'Held-out KL to the teacher against training tokens.',
      spec: lineChart({
        title: 'Held-out KL to the teacher',
        rows: curve,
        x: { field: 'tokens', title: 'tokens' },
        y: { field: 'kl', title: 'KL' },
        height: 180,
      }),
    });
  }
  if (j.speedup) {
    const rows = [
      { measure: 'prefill (measured)', speedup: j.speedup.prefill, kind: 'measured' },
      { measure: 'decode (measured)', speedup: j.speedup.decode, kind: 'measured' },
      { measure: 'ideal L/K', speedup: j.speedup.ideal, kind: 'ideal' },
    ];
    out.push({
      id: 'speedup',
      section: 'quality',
      caption: 'Speed-up of the pruned model over the teacher, against the ideal L/K.',
      spec: barChart({
        title: 'Speed-up vs teacher',
        rows,
        category: { field: 'measure', title: '' },
        value: { field: 'speedup', title: 'speed-up (×)' },
        highlight: { field: 'kind', title: '' },
      }),
    });
  }
  return out;
}

/** Renders every figure of a report's JSON to SVG, the resolved graph's diagram included. */
export async function reportFigures(j: Record<string, any>): Promise<ReportFigure[]> {
  const out: ReportFigure[] = [];
  for (const c of reportCharts(j))
    out.push({
      id: c.id,
      file: `figures/${c.id}.svg`,
      section: c.section,
      caption: c.caption,
      svg: await renderChart(c.spec),
    });
  if (typeof j.resolvedGraph === 'string') {
    const svg = diagramSvg(specDiagram(parse(j.resolvedGraph) ?? {}));
    out.push({
      id: 'graph',
      file: 'figures/graph.svg',
      section: 'graph',
      caption: 'The resolved graph: nodes (plugin) and wires (output → input).',
      svg,
    });
  }
  return out;
}
