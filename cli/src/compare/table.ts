import { METRICS, rowId, type ComparedRun } from './collect.js';

/** A metric over the seeds of one setting. */
export interface Stat {
  readonly mean: number;
  readonly std: number;
  readonly n: number;
}

/**
 * One row: a setting (its values of the keys), the seeds that succeeded, those it misses (failed,
 * stopped or not run: `n = seeds of expected`), and each metric's mean ± std over the seeds that
 * have it (a null or corrupt metric is missing from its n, never averaged).
 */
export interface CompareRow {
  readonly settings: Record<string, unknown>;
  readonly seeds: number[];
  /** Seeds the row has in all, finished or not. */
  readonly expected: number;
  readonly missing: { seed: number; status: string; run: string }[];
  readonly runs: string[];
  readonly metrics: Record<string, Stat | undefined>;
  readonly notes: string[];
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

/**
 * Groups runs by their resolved settings (by their values of `keys` when unknown), first-seen
 * order, and aggregates every metric over the succeeded runs of each group.
 */
export function compareTable(runs: ComparedRun[], keys: string[], unfinished: string[]): CompareTable {
  const groups = new Map<string, ComparedRun[]>();
  for (const r of runs) groups.set(rowId(r, keys), [...(groups.get(rowId(r, keys)) ?? []), r]);
  const rows = [...groups.values()].map((all) => {
    const g = all.filter((r) => (r.status ?? 'succeeded') === 'succeeded');
    return {
      settings: Object.fromEntries(keys.map((k) => [k, all[0].settings[k]])),
      seeds: g.map((r) => r.seed),
      expected: all.length,
      missing: all.filter((r) => !g.includes(r)).map((r) => ({ seed: r.seed, status: r.status!, run: r.dir })),
      runs: g.map((r) => r.dir),
      metrics: Object.fromEntries(
        METRICS.map((m) => {
          const values = g.map((r) => r.metrics[m.key]).filter((v): v is number => v !== undefined);
          return [m.key, values.length ? meanStd(values) : undefined];
        }),
      ),
      notes: g.flatMap((r) => (r.note ? [r.note] : [])),
    };
  });
  return { keys, columns: METRICS.map(({ key, heading }) => ({ key, heading })), rows, unfinished };
}

const DIGITS: Record<string, number> = { exactMatch: 3, kl: 4, perplexity: 3, speedup: 2, tokens: 0, wallSeconds: 1 };

/**
 * `mean ± std` (just the mean for one seed), `—` when no run has the metric; `(n=k)` when only k
 * of the row's `of` succeeded seeds have it.
 */
export function formatStat(key: string, s: Stat | undefined, of = s?.n ?? 0): string {
  if (!s) return '—';
  const d = DIGITS[key] ?? 3;
  const value = s.n > 1 ? `${s.mean.toFixed(d)} ± ${s.std.toFixed(d)}` : s.mean.toFixed(d);
  return s.n < of ? `${value} (n=${s.n})` : value;
}

/** Columns of the markdown and HTML tables: the first keys (compare.json has them all). */
const SHOWN_KEYS = 8;

function cellValue(v: unknown): string {
  return v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v);
}

/** `2` when every seed of the row succeeded, else `2 of 3`. */
function seedCell(r: CompareRow): string {
  return r.seeds.length === r.expected ? String(r.seeds.length) : `${r.seeds.length} of ${r.expected}`;
}

/** The table as rows of strings: headings first. */
export function tableCells(t: CompareTable): string[][] {
  const keys = t.keys.slice(0, SHOWN_KEYS);
  const head = [...(keys.length ? keys : ['run']), 'seeds', ...t.columns.map((c) => c.heading)];
  const body = t.rows.map((r, i) => [
    ...(keys.length ? keys.map((k) => cellValue(r.settings[k])) : [String(i + 1)]),
    seedCell(r),
    ...t.columns.map((c) => formatStat(c.key, r.metrics[c.key], r.seeds.length)),
  ]);
  return [head, ...body];
}

/** Lines under the table: keys not shown, each row's missing seeds and unreadable reports, unfinished runs. */
export function tableNotes(t: CompareTable): string[] {
  const out: string[] = [];
  if (t.keys.length > SHOWN_KEYS)
    out.push(`${t.keys.length - SHOWN_KEYS} more keys differ between rows: ${t.keys.slice(SHOWN_KEYS).join(', ')}`);
  t.rows.forEach((r, i) => {
    const missing = r.missing.map((m) => `seed ${m.seed} ${m.status} (${m.run})`);
    if (missing.length) out.push(`row ${i + 1}: n = ${r.seeds.length} of ${r.expected}; missing ${missing.join(', ')}`);
    for (const n of r.notes) out.push(`row ${i + 1}: ${n}`);
  });
  const listed = new Set(t.rows.flatMap((r) => r.missing.map((m) => m.run)));
  const others = t.unfinished.filter((u) => !listed.has(u));
  if (others.length) out.push(`${others.length} run(s) not finished, left out: ${others.join(', ')}`);
  return out;
}

export function compareMarkdown(t: CompareTable): string {
  const [head, ...body] = tableCells(t);
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  const out = [line(head), `|${head.map(() => '---').join('|')}|`, ...body.map(line)];
  const notes = tableNotes(t);
  if (notes.length) out.push('', ...notes);
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
<p class="note">One row per setting (runs whose resolved graphs are equal but for the seed); mean ± standard
deviation over its seeds. Hover a row for its run directories.</p>
<table><thead><tr>${head.map((h) => `<th>${escape(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
${tableNotes(t)
  .map((n) => `<p class="note">${escape(n)}</p>`)
  .join('\n')}
</body></html>
`;
}
