import { parse } from 'yaml';
import { isPlainObject, type RunReport } from '@e3/core';
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
import { lrRows, searchLossRows, searchScheduleRows, withN, type SearchJson } from './schedule-rows.js';

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

const NOT_TERMS = new Set(['step', 'loss', 'lr', 'gradNorm', 'tokens', 'tau', 'k']);
const perLayer = (row: Row, prefix: string) => Object.keys(row).filter((k) => new RegExp(`^${prefix}\\d+$`).test(k));

/** Rows of one value per layer per recorded step: `{ step, layer, value }`. */
function layerRows(history: Row[], prefix: string): Row[] {
  return history.flatMap((r) =>
    perLayer(r, prefix).map((k) => ({ step: r.step, layer: Number(k.slice(prefix.length)), value: r[k] })),
  );
}

const axis = (field: string, title: string, scale?: 'log') => ({ field, title, ...(scale ? { scale } : {}) });

/** A line chart as one of the report's figures. */
function lineFigure(id: string, section: ReportFigure['section'], caption: string, c: LineChart): ChartEntry {
  return { id, section, caption, spec: lineChart(c) };
}

/** A bar chart (one bar per category, coloured by `highlight`) as one of the report's figures. */
function barFigure(
  id: string,
  section: ReportFigure['section'],
  caption: string,
  c: { title: string; rows: Record<string, unknown>[]; category: Axis; value: Axis; highlight: Axis },
): ChartEntry {
  return { id, section, caption, spec: barChart(c) };
}

type Axis = { field: string; title: string };
type ChartEntry = { id: string; section: ReportFigure['section']; caption: string; spec: ChartSpec };

/** Per restart of the search: α per layer over the steps, and the keep probability per layer. */
function restartCharts(j: RunReport): ChartEntry[] {
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
  return out;
}

/** The chart specs of a report's JSON: what the data supports, nothing for what is absent. */
export function reportCharts(j: RunReport): ChartEntry[] {
  const out: ChartEntry[] = [];
  out.push(...restartCharts(j));
  out.push(...searchCharts(j));
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
        candidate: `${String(j.mask!.details!.chosenFrom)} [${chosen}]`,
        kl: j.mask!.details!.calibrationKl as number,
        chosen: 'chosen',
      });
    const caption = 'Calibration KL of each candidate mask (lower is better); the chosen one is highlighted.';
    out.push(
      barFigure('search-candidates', 'search', caption, {
        title: 'Candidate masks by calibration KL',
        rows,
        category: axis('candidate', 'candidate'),
        value: axis('kl', 'calibration KL'),
        highlight: axis('chosen', ''),
      }),
    );
  }
  out.push(...trainingCharts(j), ...accuracyCharts(j));
  if (j.speedup) {
    const rows = [
      { measure: 'prefill (measured)', speedup: j.speedup.prefill, kind: 'measured' },
      { measure: 'decode (measured)', speedup: j.speedup.decode, kind: 'measured' },
      { measure: 'ideal L/K', speedup: j.speedup.ideal, kind: 'ideal' },
    ];
    const caption = 'Speed-up of the pruned model over the teacher, against the ideal L/K.';
    out.push(
      barFigure('speedup', 'quality', caption, {
        title: 'Speed-up vs teacher',
        rows,
        category: axis('measure', ''),
        value: axis('speedup', 'speed-up (×)'),
        highlight: axis('kind', ''),
      }),
    );
  }
  return out;
}

/** The search's loss per restart, and its temperature τ and curriculum (layers kept) at every step. */
function searchCharts(j: RunReport): ChartEntry[] {
  const out: ChartEntry[] = [];
  const search = j.search as SearchJson | undefined;
  const loss = searchLossRows(search);
  const step = axis('step', 'search step');
  if (loss.length)
    out.push(
      lineFigure('search-loss', 'search', 'Search loss (the masked model against the teacher) per recorded step.', {
        title: 'Search loss',
        rows: loss,
        x: step,
        y: axis('loss', 'loss'),
        series: axis('restart', 'restart'),
      }),
    );
  const sched = searchScheduleRows(search);
  if (sched.length) {
    const from = search?.schedule ? 'at every step, from the schedule as set' : 'at the recorded steps';
    out.push(
      lineFigure('search-temperature', 'search', `Temperature τ of the relaxed top-k, ${from}.`, {
        title: 'Temperature τ',
        rows: sched,
        x: step,
        y: axis('tau', 'τ', 'log'),
        height: 160,
      }),
      lineFigure('search-curriculum', 'search', `Curriculum: layers the sampled masks keep, ${from}.`, {
        title: 'Curriculum: layers kept',
        rows: sched,
        x: step,
        y: axis('k', 'layers kept'),
        height: 160,
      }),
    );
  }
  return out;
}

/** The weighted total and the unweighted terms on separate axes, and the learning rate at every step. */
function trainingCharts(j: RunReport): ChartEntry[] {
  const hist = (j.training?.history ?? []) as Row[];
  if (!hist.length) return [];
  const keys = [...new Set(hist.flatMap((r) => Object.keys(r)))];
  const terms = keys.filter((k) => !NOT_TERMS.has(k) && !/^(alpha|keep)\d+$/.test(k));
  const rows = hist.flatMap((r) =>
    terms.filter((t) => r[t] !== undefined).map((t) => ({ step: r.step, term: t, value: r[t] })),
  );
  const step = axis('step', 'step');
  const lr = lrRows(j.training as Parameters<typeof lrRows>[0]);
  const out: ChartEntry[] = [
    lineFigure('training-loss', 'training', 'Total loss: Σ weight × term, what the optimiser minimises.', {
      title: 'Total loss (weighted sum of the terms)',
      rows: hist.filter((r) => r.loss !== undefined),
      x: step,
      y: axis('loss', 'weighted total'),
      height: 180,
    }),
  ];
  if (rows.length)
    out.push(
      lineFigure('training-terms', 'training', 'Each loss term, unweighted (its own scale, before its weight).', {
        title: 'Loss terms (unweighted)',
        rows,
        x: step,
        y: axis('value', 'term value'),
        series: axis('term', 'term'),
      }),
    );
  const caption = j.training?.lrSchedule
    ? 'Learning rate at every step, from the schedule as set (linear warm-up, then cosine decay).'
    : 'Learning rate at the recorded steps (the run recorded no schedule).';
  out.push(
    lineFigure('training-lr', 'training', caption, {
      title: 'Learning rate',
      rows: lr,
      x: step,
      y: axis('lr', 'learning rate'),
      height: 160,
    }),
  );
  return out;
}

/** Held-out exact match and KL during recovery; every accuracy says how many examples it is over. */
function accuracyCharts(j: RunReport): ChartEntry[] {
  const curve = (j.training?.evalCurve ?? []) as Row[];
  if (!curve.length) return [];
  const tokens = axis('tokens', 'tokens');
  return [
    lineFigure('heldout-accuracy', 'quality', 'Held-out exact match against training tokens.', {
      title: `Held-out exact match (${withN(curve)})`,
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
  ];
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
export async function reportFigures(j: RunReport): Promise<ReportFigure[]> {
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
