import { escapeHtml, figure, htmlPage, htmlTable, type PageSection } from '@e3/plots';
import type { LayerMaskResult } from '../model/layer-mask.js';
import { candidatesOf, layerReason, maskExplanation } from './mask-explanation.js';
import type { ReportFigure } from './report-figures.js';

const num = (x: unknown, d = 4) =>
  typeof x !== 'number' || Number.isNaN(x) ? '—' : Number.isInteger(x) ? String(x) : x.toFixed(d);
const pct = (x: unknown) => (typeof x !== 'number' || Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)}%`);
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
      i,
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
  const removed = m.mask.flatMap((x, i) => (x ? [] : [i]));
  return (
    `<p>Method <code>${escapeHtml(m.method)}</code>: ` +
    `kept ${m.mask.length - removed.length} of ${m.mask.length} layers; ` +
    `removed ${escapeHtml(removed.join(', ') || 'none')}; calibration KL ${num(m.details?.calibrationKl)}.</p>\n` +
    `${para(maskExplanation(m))}\n${layers}\n${candTable ? `<h3>Candidates</h3>\n${candTable}` : ''}`
  );
}

function qualityTable(j: Record<string, any>): string {
  const rows = (['teacher', 'model'] as const)
    .filter((w) => j[w])
    .map((w) => {
      const r = j[w];
      return [
        w === 'model' ? 'pruned' : 'teacher',
        r.layers,
        pct(r.accuracy),
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
export function reportHtml(j: Record<string, any>, figs: readonly ReportFigure[]): string {
  const sections: PageSection[] = [
    { heading: 'Teacher vs pruned model (held-out)', html: qualityTable(j) + figures(figs, 'quality') },
  ];
  if (j.mask) sections.push({ heading: 'Mask', html: maskSection(j.mask) + figures(figs, 'search') });
  if (j.training) {
    const t = j.training;
    sections.push({
      heading: 'Recovery training',
      html:
        `<p>Steps ${num(t.steps)}, tokens ${num(t.tokens)}, wall ${num(t.wallSeconds, 1)} s.</p>` +
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
