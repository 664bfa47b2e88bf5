import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** A Vega-Lite spec (`$schema` and the shared config are added when rendered). */
export type ChartSpec = TopLevelSpec;

/** The colours and fonts every e3 chart shares, so that the report and `e3 compare` look alike. */
const CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' as const },
};

/**
 * Compiles a Vega-Lite spec and renders it to a standalone SVG string, headless (no browser,
 * no canvas, no network: data must be inline `values`).
 */
export async function renderChart(spec: ChartSpec): Promise<string> {
  const full = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config: CONFIG, ...spec } as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(full).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** One series of a line chart: rows with an x field, a y field and optionally a series field. */
export interface LineChart {
  readonly title: string;
  readonly rows: readonly Record<string, unknown>[];
  readonly x: { field: string; title: string };
  readonly y: { field: string; title: string; scale?: 'linear' | 'log' };
  /** Field that names the series (one line each). */
  readonly series?: { field: string; title: string };
  readonly width?: number;
  readonly height?: number;
}

/** A line chart, one line per series, with points where there are few rows. */
export function lineChart(c: LineChart): ChartSpec {
  return {
    title: c.title,
    width: c.width ?? 520,
    height: c.height ?? 220,
    data: { values: c.rows as Record<string, unknown>[] },
    mark: { type: 'line', point: c.rows.length <= 40 },
    encoding: {
      x: { field: c.x.field, type: 'quantitative', title: c.x.title },
      y: {
        field: c.y.field,
        type: 'quantitative',
        title: c.y.title,
        // A log scale has no zero (Vega-Lite warns on stderr when one is set).
        scale: c.y.scale === 'log' ? { type: 'log' } : { type: 'linear', zero: false },
      },
      ...(c.series ? { color: { field: c.series.field, type: 'nominal', title: c.series.title } } : {}),
    },
  };
}

/** A heatmap: x and y bands, colour by a value in [0, 1] unless `domain` says otherwise. */
export function heatmap(c: {
  title: string;
  rows: readonly Record<string, unknown>[];
  x: { field: string; title: string };
  y: { field: string; title: string };
  value: { field: string; title: string; domain?: [number, number] };
  width?: number;
  height?: number;
}): ChartSpec {
  return {
    title: c.title,
    width: c.width ?? 520,
    height: c.height ?? 200,
    data: { values: c.rows as Record<string, unknown>[] },
    mark: 'rect',
    encoding: {
      x: { field: c.x.field, type: 'ordinal', title: c.x.title, axis: { labelOverlap: true } },
      y: { field: c.y.field, type: 'ordinal', title: c.y.title },
      color: {
        field: c.value.field,
        type: 'quantitative',
        title: c.value.title,
        scale: { domain: c.value.domain ?? [0, 1], scheme: 'viridis' },
      },
    },
  };
}

/** Horizontal bars; `highlight` names a boolean field drawn in a second colour. */
export function barChart(c: {
  title: string;
  rows: readonly Record<string, unknown>[];
  category: { field: string; title: string };
  value: { field: string; title: string };
  highlight?: { field: string; title: string };
  width?: number;
}): ChartSpec {
  return {
    title: c.title,
    width: c.width ?? 420,
    data: { values: c.rows as Record<string, unknown>[] },
    mark: 'bar',
    encoding: {
      y: { field: c.category.field, type: 'nominal', title: c.category.title, sort: null, axis: { labelLimit: 480 } },
      x: { field: c.value.field, type: 'quantitative', title: c.value.title },
      ...(c.highlight ? { color: { field: c.highlight.field, type: 'nominal', title: c.highlight.title } } : {}),
    },
  };
}

/** One point per item (e.g. per seed) in each category, and a tick at the category's mean. */
export function pointChart(c: {
  title: string;
  rows: readonly Record<string, unknown>[];
  category: { field: string; title: string };
  value: { field: string; title: string };
  width?: number;
}): ChartSpec {
  const x = { field: c.category.field, type: 'nominal' as const, title: c.category.title, sort: null };
  return {
    title: c.title,
    width: c.width ?? 260,
    height: 200,
    data: { values: c.rows as Record<string, unknown>[] },
    layer: [
      {
        mark: { type: 'point', filled: true, size: 70, opacity: 0.8 },
        encoding: {
          x,
          y: { field: c.value.field, type: 'quantitative', title: c.value.title, scale: { zero: false } },
        },
      },
      {
        mark: { type: 'tick', thickness: 2, size: 28, color: '#222' },
        encoding: { x, y: { field: c.value.field, aggregate: 'mean', type: 'quantitative' } },
      },
    ],
  };
}
