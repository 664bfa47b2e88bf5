import {
  escapeHtml,
  figure,
  htmlPage,
  htmlTable,
  lineChart,
  pointChart,
  renderChart,
  type PageSection,
} from '@e3/plots';
import type { ComparedRun } from './collect.js';
import type { CompareTable } from './table.js';
import {
  differenceCells,
  headingOf,
  maskLine,
  perSeedCells,
  sampleSizes,
  SECTION,
  tableCells,
  tableNotes,
} from './table-text.js';

const table = ([head, ...body]: string[][]) => htmlTable(head, body, { text: head.map((_, j) => j) });

/** A row's short name in the plots: its number and its values of the keys. */
function rowLabel(t: CompareTable, i: number): string {
  const values = t.keys.slice(0, 3).map((k) => JSON.stringify(t.rows[i].settings[k] ?? null));
  return values.length ? `${i + 1}: ${values.join(', ')}` : String(i + 1);
}

/** One plot per result metric: each seed's value as a point, per row, and the row's mean as a tick. */
async function metricPlots(t: CompareTable): Promise<string[]> {
  const out: string[] = [];
  for (const c of t.columns.filter((x) => !x.noisy)) {
    const rows = t.rows.flatMap((r, i) =>
      r.perSeed.flatMap((s) =>
        s.values[c.key] === undefined ? [] : [{ row: rowLabel(t, i), seed: s.seed, value: s.values[c.key] }],
      ),
    );
    if (!rows.length) continue;
    const spec = pointChart({
      title: headingOf(c),
      rows,
      category: { field: 'row', title: 'row' },
      value: { field: 'value', title: c.unit ? `${c.heading} (${c.unit})` : c.heading },
    });
    const caption = `${c.heading} per row: one point per seed, the tick at the mean (${c.direction} is better).`;
    out.push(figure(`metric-${c.key}`, await renderChart(spec), caption));
  }
  return out;
}

/** The training loss of every run, one line per row and seed, overlaid. */
async function learningCurves(t: CompareTable, runs: readonly ComparedRun[]): Promise<string[]> {
  const byDir = new Map(runs.map((r) => [r.dir, r]));
  const rows = t.rows.flatMap((r, i) =>
    r.perSeed.flatMap((s) =>
      (byDir.get(s.run)?.history ?? []).flatMap((h) =>
        typeof h.step === 'number' && typeof h.loss === 'number'
          ? [{ step: h.step, loss: h.loss, run: `row ${rowLabel(t, i)}, seed ${s.seed}` }]
          : [],
      ),
    ),
  );
  if (!rows.length) return [];
  const spec = lineChart({
    title: 'Training loss',
    rows,
    x: { field: 'step', title: 'step' },
    y: { field: 'loss', title: 'loss (weighted total)' },
    series: { field: 'run', title: 'row, seed' },
  });
  return [figure('learning-curves', await renderChart(spec), 'Training loss per step of every run, overlaid.')];
}

/** A self-contained page (no scripts, no fetches): the tables of `e3 compare`, per seed, and its plots. */
export async function compareHtml(t: CompareTable, runs: readonly ComparedRun[], title: string): Promise<string> {
  const masks = t.rows.flatMap((r, i) => (maskLine(r) ? [[String(i + 1), maskLine(r)!]] : []));
  const sections: PageSection[] = [
    {
      heading: 'Results',
      html:
        table(tableCells(t)) +
        `<p>${escapeHtml(`${SECTION.sizes}: ${sampleSizes(t).join('; ') || 'none declared'}.`)}</p>` +
        tableNotes(t)
          .map((n) => `<p class="note">${escapeHtml(n)}</p>`)
          .join('\n'),
    },
  ];
  if (t.differences.length) sections.push({ heading: SECTION.differences, html: table(differenceCells(t)) });
  if (masks.length) sections.push({ heading: SECTION.masks, html: table([['#', 'removed layers'], ...masks]) });
  if (t.columns.some((c) => c.noisy)) sections.push({ heading: SECTION.timing, html: table(tableCells(t, true)) });
  sections.push({ heading: 'Plots', html: [...(await metricPlots(t)), ...(await learningCurves(t, runs))].join('\n') });
  sections.push({ heading: SECTION.perSeed, html: table(perSeedCells(t)) });
  const intro =
    '<p>One row per setting (runs whose resolved graphs are equal but for the seed); mean ± standard ' +
    'deviation over its seeds.</p>';
  return htmlPage(title, sections, intro);
}
