import type { RunReport } from '@e3/core';
import type { LayerMaskResult } from '../model/layer-mask.js';
import { originalLayer } from '../model/layer-mask.js';
import { candidatesOf, layerReason, maskExplanation, maskSummary, prunedLayersSentence } from './mask-explanation.js';

/**
 * What travels on a `Report` port and what the exporter writes beside the checkpoint: report.json,
 * report.md, and `files` (report.html and figures/*.svg, by name relative to the report).
 */
export interface Report {
  /** report.json (schemas/run-report.schema.json): declared metrics, masks, quality, search and training histories. */
  json: RunReport;
  /** report.md, linking the figures. */
  markdown: string;
  /** Further files by name relative to the report: report.html, figures/*.svg. */
  files?: Record<string, string>;
}

const pct = (x: unknown) => (typeof x !== 'number' || Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)}%`);
/** An accuracy with the number of examples behind it. */
const pctN = (x: unknown, n: unknown) => (typeof n === 'number' && pct(x) !== '—' ? `${pct(x)} (n = ${n})` : pct(x));
const f = (x: unknown, d = 4) =>
  typeof x !== 'number' || Number.isNaN(x) ? '—' : Number.isInteger(x) ? String(x) : x.toFixed(d);

/** Samples at most `n` rows evenly (always keeping the last), for loss-curve tables. */
export function sampleRows<T>(rows: readonly T[], n: number): T[] {
  if (rows.length <= n) return [...rows];
  const out = Array.from({ length: n - 1 }, (_, i) => rows[Math.floor((i * rows.length) / (n - 1))]);
  return [...out, rows[rows.length - 1]];
}

/** The human-readable report; `figures` (SVG files beside it) are linked from their sections. */
/** report.md's mask section: the mask, each layer's score and reason, the candidates. */
function maskMarkdown(m: LayerMaskResult): string[] {
  const lines: string[] = [];
  lines.push(`## Mask (${m.method})`, '', maskSummary(m), '');
  const keepP = m.details?.keepProbability as number[] | undefined;
  lines.push('| layer | kept | score | keep probability | why |', '|---|---|---|---|---|');
  m.mask.forEach((x, i) =>
    lines.push(
      `| ${originalLayer(m, i)} | ${x ? 'yes' : 'no'} | ${f(m.scores?.[i])} | ${f(keepP?.[i], 2)} | ${layerReason(m, i)} |`,
    ),
  );
  if (m.details?.calibrationKl !== undefined)
    lines.push(
      '',
      `Calibration KL of the mask: ${f(m.details.calibrationKl as number)}; forward passes: ${m.details.forwardPasses}; search wall time ${f(m.details.wallSeconds as number, 1)} s.`,
    );
  const why = maskExplanation(m);
  if (why.length) lines.push('', '### Why this mask', '', ...why.flatMap((l) => [l, '']));
  const cands = candidatesOf(m);
  if (cands.length) {
    lines.push('| restart | source | mask (1 = kept) | calibration KL |', '|---|---|---|---|');
    for (const c of cands) {
      const chosen = c.mask.join('') === m.mask.join('') ? ' (chosen)' : '';
      lines.push(`| ${c.restart ?? 0} | ${c.source} | ${c.mask.join('')}${chosen} | ${f(c.kl)} |`);
    }
  }
  return lines;
}

/** report.md's training sections: the sampled training curve and the held-out curve during recovery. */
function trainingMarkdown(j: RunReport, figureLinks: readonly string[]): string[] {
  const lines: string[] = [];
  const training = j.training;
  const hist = training?.history;
  if (training && hist?.length) {
    const keys = Object.keys(hist[hist.length - 1]).filter((k) => !/^(alpha|keep)\d+$/.test(k));
    lines.push(
      '',
      '## Training curve',
      '',
      `Steps ${training.steps}, tokens ${training.tokens}, wall ${f(training.wallSeconds, 1)} s.`,
      '',
      `| ${keys.join(' | ')} |`,
      `|${keys.map(() => '---').join('|')}|`,
    );
    for (const row of sampleRows(hist, 20))
      lines.push(
        `| ${keys.map((k) => (k === 'lr' && typeof row[k] === 'number' ? row[k].toExponential(2) : f(row[k]))).join(' | ')} |`,
      );
    lines.push('', ...figureLinks);
  }
  const curve = training?.evalCurve;
  if (curve?.length) {
    lines.push(
      '',
      '## Held-out accuracy during recovery',
      '',
      '| step | tokens | exact match | KL to teacher |',
      '|---|---|---|---|',
    );
    for (const c of curve) lines.push(`| ${c.step} | ${c.tokens} | ${pctN(c.accuracy, c.n)} | ${f(c.kl)} |`);
  }
  return lines;
}

export function reportMarkdown(
  j: RunReport,
  figures: readonly { file: string; section: string; caption: string }[] = [],
): string {
  const links = (section: string) =>
    figures.filter((x) => x.section === section).flatMap((x) => [`![${x.caption}](${x.file})`, '']);
  const lines: string[] = [`# e3-pruner report${j.name ? `: ${j.name}` : ''}`, ''];
  const m = j.mask as LayerMaskResult | undefined;
  if (m) lines.push(...maskMarkdown(m), '', ...links('search'));
  lines.push(
    '## Teacher vs pruned model (held-out)',
    '',
    '| model | layers | exact match | perplexity | KL to teacher | prefill tok/s | decode tok/s |',
    '|---|---|---|---|---|---|---|',
  );
  for (const who of ['teacher', 'model'] as const) {
    const r = j[who];
    if (r)
      lines.push(
        `| ${who === 'model' ? 'pruned' : 'teacher'} | ${r.layers} | ${pctN(r.accuracy, r.answered ?? r.examples)} | ${f(r.perplexity)} | ${f(r.klToTeacher)} | ${f(r.speed?.prefillTokensPerSecond, 0)} | ${f(r.speed?.decodeTokensPerSecond, 0)} |`,
      );
  }
  const pruning = prunedLayersSentence(j.model);
  if (pruning) lines.push('', pruning);
  if (figures.length) lines.push('', 'Plots: open report.html beside this file (self-contained), or the SVGs below.');
  if (j.speedup)
    lines.push(
      '',
      `Speed-up of the pruned model: prefill ${f(j.speedup.prefill, 2)}×, decode ${f(j.speedup.decode, 2)}× (ideal L/K = ${f(j.speedup.ideal, 2)}×), measured side by side in one process (median of ${j.speedup.repeats}).`,
    );
  lines.push(...trainingMarkdown(j, links('training')));
  if (figures.some((x) => x.section === 'quality')) lines.push('', '## Quality and speed', '', ...links('quality'));
  if (j.resolvedGraph) {
    lines.push('', '## Resolved graph', '', ...links('graph'), '```yaml', String(j.resolvedGraph).trimEnd(), '```');
  }
  lines.push('', `Wall time of the run until the report: ${f(j.wallSeconds, 1)} s.`, '');
  return lines.join('\n');
}
