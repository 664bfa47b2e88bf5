import { checkRunReport, type RunReport } from '@e3/core';
import { reportMarkdown, type Report } from './report.js';
import { reportFigures } from './report-figures.js';
import { reportHtml } from './report-html.js';

/**
 * The report in every form: report.json's content, report.md (linking the SVGs), report.html
 * (self-contained) and the SVG figures, keyed by their file names relative to the report.
 */
export async function buildReport(json: RunReport): Promise<Report> {
  const figs = await reportFigures(json);
  const files: Record<string, string> = Object.fromEntries(figs.map((f) => [f.file, f.svg]));
  files['report.html'] = reportHtml(json, figs);
  return { json, markdown: reportMarkdown(json, figs), files };
}

/**
 * Writes report.json, report.md, report.html and figures/ with `write(name, text)` (e.g. the
 * artifact store), after checking report.json's text against schemas/run-report.schema.json: a
 * report that does not match (a plugin's metric declared without its unit, say) is a located
 * error, and nothing is written.
 */
export function writeReport(report: Report, write: (name: string, text: string) => unknown): void {
  const text = JSON.stringify(report.json, null, 2) + '\n';
  checkRunReport(
    JSON.parse(text),
    'report.json',
    'each declared metric needs name, unit, direction (higher|lower), n and value (schemas/run-report.schema.json); ' +
      'mend the node that declared it (its `source`)',
  );
  write('report.json', text);
  write('report.md', report.markdown);
  for (const [name, text] of Object.entries(report.files ?? {})) write(name, text);
}
