import { parse } from 'yaml';
import { isPlainObject } from '@e3/core';
import {
  barChart,
  diagramSvg,
  heatmap,
  lineChart,
  renderChart,
  specDiagram,
  type ChartSpec,
  type LineChart,
} from '@e3/plots';
import type { LayerMaskResult } from '../model/layer-mask.js';
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

const axis = (field: string, title: string) => ({ field, title });

/** A line chart as one of the report's figures. */
function lineFigure(id: string, section: ReportFigure['section'], caption: string, c: LineChart): ChartEntry {
  return { id, section, caption, spec: lineChart(c) };
}

/** A bar chart (one bar per category, coloured by `highlight`) as one of the report's figures. */
function barFigure(
  id: string,
  section: ReportFigure['section'],
  caption: string,
  title: string,
  rows: Record<string, unknown>[],
  category: Axis,
  value: Axis,
  highlight: Axis,
): ChartEntry {
  return { id, section, caption, spec: barChart({ title, rows, category, value, highlight }) };
}

type Axis = { field: string; title: string };
type ChartEntry = { id: string; section: ReportFigure['section']; caption: string; spec: ChartSpec };

/** The chart specs of a report's JSON: what the data supports, nothing for what is absent. */
export function reportCharts(j: Record<string, any>): ChartEntry[] {
  const out: ChartEntry[] = [];
  for (const r of (j.search?.restarts ?? []) as { restart: number; history?: Row[] }[]) {
    const alpha = layerRows(r.history ?? [], 'alpha');
    if (alpha.length) {
      const caption = `Mask logits α per layer over the search steps (restart ${r.restart}).`;
      out.push(
        lineFigure(`search-alpha-r${r.restart}`, 'search', caption, {
          title: `α per layer, restart ${r.restart}`,
          rows: alpha,
          x: axis('step', 'search step'),
          y: axis('value', 'α'),
          series: axis('layer', 'layer'),
        }),
      );
    }
    const keep = layerRows(r.history ?? [], 'keep');
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
    const caption = 'Calibration KL of each candidate mask (lower is better); the chosen one is highlighted.';
    out.push(
      barFigure(
        'search-candidates',
        'search',
        caption,
        'Candidate masks by calibration KL',
        rows,
        axis('candidate', 'candidate'),
        axis('kl', 'calibration KL'),
        axis('chosen', ''),
      ),
    );
  }
  const hist = (j.training?.history ?? []) as Row[];
  if (hist.length) {
    const keys = [...new Set(hist.flatMap((r) => Object.keys(r)))];
    const terms = keys.filter((k) => !NOT_TERMS.has(k) && !/^(alpha|keep)\d+$/.test(k));
    const rows = hist.flatMap((r) =>
      terms.filter((t) => r[t] !== undefined).map((t) => ({ step: r.step, term: t, value: r[t] })),
    );
    const step = axis('step', 'step');
    out.push(
      lineFigure('training-loss', 'training', 'Total loss and each loss term over the recovery steps.', {
        title: 'Loss terms',
        rows,
        x: step,
        y: axis('value', 'loss'),
        series: axis('term', 'term'),
      }),
      lineFigure('training-lr', 'training', 'Learning rate schedule (warm-up, then cosine decay).', {
        title: 'Learning rate',
        rows: hist,
        x: step,
        y: axis('lr', 'learning rate'),
        height: 160,
      }),
    );
  }
  const curve = (j.training?.evalCurve ?? []) as Row[];
  if (curve.length) {
    const tokens = axis('tokens', 'tokens');
    out.push(
      lineFigure('heldout-accuracy', 'quality', 'Held-out exact match against training tokens.', {
        title: 'Held-out exact match',
        rows: curve,
        x: tokens,
        y: axis('accuracy', 'exact match'),
        height: 180,
      }),
      lineFigure('heldout-kl', 'quality', 'Held-out KL to the teacher against training tokens.', {
        title: 'Held-out KL to the teacher',
        rows: curve,
        x: tokens,
        y: axis('kl', 'KL'),
        height: 180,
      }),
    );
  }
  if (j.speedup) {
    const rows = [
      { measure: 'prefill (measured)', speedup: j.speedup.prefill, kind: 'measured' },
      { measure: 'decode (measured)', speedup: j.speedup.decode, kind: 'measured' },
      { measure: 'ideal L/K', speedup: j.speedup.ideal, kind: 'ideal' },
    ];
    const caption = 'Speed-up of the pruned model over the teacher, against the ideal L/K.';
    out.push(
      barFigure(
        'speedup',
        'quality',
        caption,
        'Speed-up vs teacher',
        rows,
        axis('measure', ''),
        axis('speedup', 'speed-up (×)'),
        axis('kind', ''),
      ),
    );
  }
  return out;
}

/** The resolved graph of a report as a mapping; undefined when absent or not YAML (report.html still shows its text). */
function resolvedSpec(text: unknown): Record<string, unknown> | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const spec: unknown = parse(text);
    return isPlainObject(spec) ? spec : undefined;
  } catch {
    return undefined;
  }
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
  const spec = resolvedSpec(j.resolvedGraph);
  if (spec) {
    const svg = diagramSvg(specDiagram(spec));
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
