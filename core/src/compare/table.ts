import { METRICS, type ComparedRun } from './collect.js';

/** A metric over the seeds of one setting. */
export interface Stat {
  readonly mean: number;
  readonly std: number;
  readonly n: number;
}

/** One row: a setting (values of the swept keys), its seeds, and each metric's mean ± std over them. */
export interface CompareRow {
  readonly settings: Record<string, unknown>;
  readonly seeds: number[];
  readonly runs: string[];
  readonly metrics: Record<string, Stat | undefined>;
}

export interface CompareTable {
  readonly keys: string[];
  readonly columns: { key: string; heading: string }[];
  readonly rows: CompareRow[];
  readonly unfinished: string[];
}

/** Mean and sample standard deviation (0 for one value). */
export function meanStd(values: number[]): Stat {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/** Groups runs by their values of `keys` (first-seen order) and aggregates every metric over each group. */
export function compareTable(runs: ComparedRun[], keys: string[], unfinished: string[]): CompareTable {
  const groups = new Map<string, ComparedRun[]>();
  for (const r of runs) {
    const id = JSON.stringify(keys.map((k) => r.settings[k]));
    groups.set(id, [...(groups.get(id) ?? []), r]);
  }
  const rows = [...groups.values()].map((g) => ({
    settings: Object.fromEntries(keys.map((k) => [k, g[0].settings[k]])),
    seeds: g.map((r) => r.seed),
    runs: g.map((r) => r.dir),
    metrics: Object.fromEntries(
      METRICS.map((m) => {
        const values = g.map((r) => r.metrics[m.key]).filter((v): v is number => v !== undefined);
        return [m.key, values.length ? meanStd(values) : undefined];
      }),
    ),
  }));
  return { keys, columns: METRICS.map(({ key, heading }) => ({ key, heading })), rows, unfinished };
}

const DIGITS: Record<string, number> = { exactMatch: 3, kl: 4, perplexity: 3, speedup: 2, tokens: 0, wallSeconds: 1 };

/** `mean ± std` (just the mean for one seed), `—` when no run has the metric. */
export function formatStat(key: string, s: Stat | undefined): string {
  if (!s) return '—';
  const d = DIGITS[key] ?? 3;
  return s.n > 1 ? `${s.mean.toFixed(d)} ± ${s.std.toFixed(d)}` : s.mean.toFixed(d);
}

function cellValue(v: unknown): string {
  return v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v);
}

/** The table as rows of strings: headings first. */
export function tableCells(t: CompareTable): string[][] {
  const head = [...(t.keys.length ? t.keys : ['run']), 'seeds', ...t.columns.map((c) => c.heading)];
  const body = t.rows.map((r, i) => [
    ...(t.keys.length ? t.keys.map((k) => cellValue(r.settings[k])) : [String(i + 1)]),
    String(r.seeds.length),
    ...t.columns.map((c) => formatStat(c.key, r.metrics[c.key])),
  ]);
  return [head, ...body];
}

export function compareMarkdown(t: CompareTable): string {
  const [head, ...body] = tableCells(t);
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  const out = [line(head), `|${head.map(() => '---').join('|')}|`, ...body.map(line)];
  if (t.unfinished.length)
    out.push('', `${t.unfinished.length} run(s) not finished, left out: ${t.unfinished.join(', ')}`);
  return out.join('\n') + '\n';
}

const escape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A self-contained page (no scripts, no fetches): the table and the runs behind each row. */
export function compareHtml(t: CompareTable, title: string): string {
  const [head, ...body] = tableCells(t);
  const rows = body.map(
    (cells, i) =>
      `<tr title="${escape(t.rows[i].runs.join('\n'))}">` +
      cells.map((c, j) => `<td${j >= t.keys.length ? ' class="num"' : ''}>${escape(c)}</td>`).join('') +
      '</tr>',
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; } th, td { border: 1px solid #ccc; padding: 4px 10px; }
th { background: #f3f3f3; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fafafa; } p.note { color: #666; }
</style></head><body>
<h1>${escape(title)}</h1>
<p class="note">One row per setting; mean ± standard deviation over its seeds. Hover a row for its run directories.</p>
<table><thead><tr>${head.map((h) => `<th>${escape(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
${t.unfinished.length ? `<p class="note">${t.unfinished.length} run(s) not finished, left out.</p>` : ''}
</body></html>
`;
}
