import type { RunReport } from '@e3/core';
import { escapeHtml, figure, htmlPage, htmlTable, type PageSection } from '@e3/plots';
import type { LayerMaskResult } from '../model/layer-mask.js';
import { originalLayer } from '../model/layer-mask.js';
import { candidatesOf, layerReason, maskExplanation, maskSummary, prunedLayersSentence } from './mask-explanation.js';
import type { ReportFigure } from './report-figures.js';

const num = (x: unknown, d = 4) =>
  typeof x !== 'number' || Number.isNaN(x) ? '—' : Number.isInteger(x) ? String(x) : x.toFixed(d);
const pct = (x: unknown) => (typeof x !== 'number' || Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)}%`);
/** An accuracy with the number of examples behind it. */
const pctN = (x: unknown, n: unknown) => (typeof n === 'number' && pct(x) !== '—' ? `${pct(x)} (n = ${n})` : pct(x));
const para = (lines: readonly string[]) => lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('\n');

function figures(all: readonly ReportFigure[], section: ReportFigure['section']): string {
  return all
    .filter((f) => f.section === section)
    .map((f) => figure(f.id, f.svg, f.caption))
    .join('\n');
}

function maskSection(m: LayerMaskResult): string {
  const keepP = m.details?.keepProbability as number[] | undefined;
  const alpha = m.details?.alpha as number[] | undefined;
  const layers = htmlTable(
    ['layer', 'kept', 'score', 'α', 'keep probability', 'why'],
    m.mask.map((x, i) => [
      originalLayer(m, i),
      x ? 'yes' : 'no',
      num(m.scores?.[i]),
      num(alpha?.[i], 3),
      num(keepP?.[i], 2),
      layerReason(m, i),
    ]),
    { text: [5], rowClass: (i) => (m.mask[i] ? undefined : 'removed') },
  );
  const chosen = m.mask.join('');
  const cands = candidatesOf(m);
  const candTable = cands.length
    ? htmlTable(
        ['restart', 'source', 'mask (1 = kept)', 'calibration KL'],
        cands.map((c) => [c.restart ?? 0, c.source, c.mask.join(''), num(c.kl)]),
        { text: [1, 2], rowClass: (i) => (cands[i].mask.join('') === chosen ? 'chosen' : undefined) },
      )
    : '';
  return (
    `<p>Method <code>${escapeHtml(m.method)}</code>. ${escapeHtml(maskSummary(m))} ` +
    `Calibration KL ${num(m.details?.calibrationKl)}.</p>\n` +
    `${para(maskExplanation(m))}\n${layers}\n${candTable ? `<h3>Candidates</h3>\n${candTable}` : ''}`
  );
}

function qualityTable(j: RunReport): string {
  const rows = (['teacher', 'model'] as const)
    .filter((w) => j[w])
    .map((w) => {
      const r = j[w]!;
      return [
        w === 'model' ? 'pruned' : 'teacher',
        r.layers,
        pctN(r.accuracy, r.answered ?? r.examples),
        num(r.perplexity),
        num(r.klToTeacher),
        num(r.speed?.prefillTokensPerSecond, 0),
        num(r.speed?.decodeTokensPerSecond, 0),
      ];
    });
  const speed = j.speedup
    ? `<p>Speed-up: prefill ${num(j.speedup.prefill, 2)}×, decode ${num(j.speedup.decode, 2)}× ` +
      `(ideal L/K = ${num(j.speedup.ideal, 2)}×), median of ${num(j.speedup.repeats)}.</p>`
    : '';
  return (
    htmlTable(
      ['model', 'layers', 'exact match', 'perplexity', 'KL to teacher', 'prefill tok/s', 'decode tok/s'],
      rows,
      { text: [0] },
    ) + speed
  );
}

/** The report as one self-contained HTML page (figures inline). */
export function reportHtml(j: RunReport, figs: readonly ReportFigure[]): string {
  const sections: PageSection[] = [
    {
      heading: 'Teacher vs pruned model (held-out)',
      html: qualityTable(j) + para([prunedLayersSentence(j.model)].filter(Boolean)) + figures(figs, 'quality'),
    },
  ];
  if (j.mask) sections.push({ heading: 'Mask', html: maskSection(j.mask) + figures(figs, 'search') });
  if (j.training) {
    const t = j.training;
    const last = (t.evalCurve ?? []).at(-1);
    const curve = last
      ? `<p>Held-out exact match during recovery: ${pctN(last.accuracy, last.n)} at step ${num(last.step)} ` +
        '(the distiller’s own held-out sample; the table above scores the evaluator’s).</p>'
      : '';
    sections.push({
      heading: 'Recovery training',
      html:
        `<p>Steps ${num(t.steps)}, tokens ${num(t.tokens)}, wall ${num(t.wallSeconds, 1)} s.</p>` +
        curve +
        figures(figs, 'training'),
    });
  }
  if (j.resolvedGraph) {
    sections.push({
      heading: 'Resolved graph',
      html:
        figures(figs, 'graph') +
        `<details><summary>resolved.yaml</summary><pre>${escapeHtml(String(j.resolvedGraph))}</pre></details>`,
    });
  }
  return htmlPage(
    'e3-pruner report',
    sections,
    `<p>Wall time of the run until the report: ${num(j.wallSeconds, 1)} s.</p>`,
  );
}
