import type { PairedDifference } from './paired.js';
import type { CompareRow, CompareTable, MetricColumn, Stat } from './table.js';

/**
 * `mean ± std` (just the mean for one seed) with `digits` decimals, `—` when no run has the
 * metric; `(n=k)` when only k of the row's `of` succeeded seeds have it.
 */
export function formatStat(digits: number, s: Stat | undefined, of = s?.n ?? 0): string {
  if (!s) return '—';
  const value = s.n > 1 ? `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}` : s.mean.toFixed(digits);
  return s.n < of ? `${value} (n=${s.n})` : value;
}

const signed = (x: number, d: number) => `${x >= 0 ? '+' : ''}${x.toFixed(d)}`;

/** `+0.010 [−0.117, +0.137]`; just the mean, marked, for one shared seed; `—` for none. */
export function formatDifference(digits: number, d: PairedDifference | undefined): string {
  if (!d) return '—';
  if (d.low === undefined || d.high === undefined) return `${signed(d.mean, digits)} (1 seed, no interval)`;
  return `${signed(d.mean, digits)} [${signed(d.low, digits)}, ${signed(d.high, digits)}]`;
}

/** Columns of the tables: the first keys (compare.json has them all). */
const SHOWN_KEYS = 8;

function cellValue(v: unknown): string {
  return v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v);
}

/** Seeds present of seeds planned: `2 of 2`, `1 of 3`. */
const seedCell = (r: CompareRow) => `${r.seeds.length} of ${r.expected}`;

/** A column's heading with its direction: `exact match ↑`. */
export const headingOf = (c: MetricColumn) => `${c.heading} ${c.direction === 'higher' ? '↑' : '↓'}`;

/** The label cells of a row: its number, then its values of the shown keys. */
function labelCells(t: CompareTable, r: CompareRow, i: number): string[] {
  return [String(i + 1), ...t.keys.slice(0, SHOWN_KEYS).map((k) => cellValue(r.settings[k]))];
}

/** `#` (the row's number, as the notes and differences name it) and the shown keys. */
const labelHead = (t: CompareTable) => ['#', ...t.keys.slice(0, SHOWN_KEYS)];

/** The results table (`noisy` false) or the timing table (`noisy` true) as rows of strings: headings first. */
export function tableCells(t: CompareTable, noisy = false): string[][] {
  const cols = t.columns.filter((c) => c.noisy === noisy);
  const head = [...labelHead(t), 'seeds', ...cols.map(headingOf)];
  const body = t.rows.map((r, i) => [
    ...labelCells(t, r, i),
    seedCell(r),
    ...cols.map((c) => formatStat(c.digits, r.metrics[c.key], r.seeds.length)),
  ]);
  return [head, ...body];
}

/** Each row after the first against the first: the paired difference of every result metric. */
export function differenceCells(t: CompareTable): string[][] {
  const cols = t.columns.filter((c) => !c.noisy);
  const head = ['row', 'against', 'shared seeds', ...cols.map(headingOf)];
  const body = t.differences.map((d) => {
    const shared = Math.max(0, ...Object.values(d.metrics).map((m) => m?.n ?? 0));
    return [
      String(d.row),
      String(d.against),
      String(shared),
      ...cols.map((c) => formatDifference(c.digits, d.metrics[c.key])),
    ];
  });
  return [head, ...body];
}

/** One line per seed: its row, seed, run and every metric's value. */
export function perSeedCells(t: CompareTable): string[][] {
  const head = [...labelHead(t), 'seed', 'run', 'removed layers', ...t.columns.map(headingOf)];
  const body = t.rows.flatMap((r, i) =>
    r.perSeed.map((s) => [
      ...labelCells(t, r, i),
      String(s.seed),
      s.run,
      s.removed ? s.removed.join(', ') || 'none' : '—',
      ...t.columns.map((c) => (s.values[c.key] === undefined ? '—' : s.values[c.key]!.toFixed(c.digits))),
    ]),
  );
  return [head, ...body];
}

/** The removed layers of a row: one list when its seeds agree, else per seed. */
export function maskLine(r: CompareRow): string | undefined {
  const withMask = r.perSeed.filter((s) => s.removed);
  if (!withMask.length) return undefined;
  const lists = withMask.map((s) => s.removed!.join(', ') || 'none');
  if (lists.every((l) => l === lists[0]))
    return `${lists[0]} (${withMask.length === 1 ? `seed ${withMask[0].seed}` : `all ${withMask.length} seeds`})`;
  return withMask.map((s, i) => `seed ${s.seed}: ${lists[i]}`).join('; ');
}

/** What each metric's n counts: `exact match: 300 examples`; differing n are listed. */
export function sampleSizes(t: CompareTable): string[] {
  return t.columns
    .filter((c) => c.n.length)
    .map((c) => `${c.heading}: ${c.n.join(' / ')} ${c.of}${c.unit ? ` (${c.unit})` : ''}`);
}

/** Lines under the table: keys not shown, each row's missing seeds and notes, unfinished runs. */
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

function markdownTable([head, ...body]: string[][]): string[] {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(head), `|${head.map(() => '---').join('|')}|`, ...body.map(line)];
}

/** Titles of the sections under the results table, shared by the markdown and the page. */
export const SECTION = {
  differences:
    'Paired difference to row 1 (row − row 1, mean over the seeds both have, 95% t interval; ' +
    '↑/↓: which way is better)',
  masks: 'Removed layers (0-based, as in report.md)',
  timing: 'Timing (noisy: varies with the load of the machine; not a quality result)',
  sizes: 'n of each metric (what it was computed on)',
  perSeed: 'Per seed',
} as const;

/** The comparison as markdown: results, n per metric, masks, paired differences, timing, notes; per seed on request. */
export function compareMarkdown(t: CompareTable, o: { perSeed?: boolean } = {}): string {
  const out = markdownTable(tableCells(t));
  const sizes = sampleSizes(t);
  if (sizes.length) out.push('', `${SECTION.sizes}: ${sizes.join('; ')}.`);
  const masks = t.rows.flatMap((r, i) => (maskLine(r) ? [`row ${i + 1}: ${maskLine(r)}`] : []));
  if (masks.length) out.push('', `${SECTION.masks}:`, ...masks.map((m) => `- ${m}`));
  if (t.differences.length) out.push('', `${SECTION.differences}:`, '', ...markdownTable(differenceCells(t)));
  if (t.columns.some((c) => c.noisy)) out.push('', `${SECTION.timing}:`, '', ...markdownTable(tableCells(t, true)));
  if (o.perSeed) out.push('', `${SECTION.perSeed}:`, '', ...markdownTable(perSeedCells(t)));
  const notes = tableNotes(t);
  if (notes.length) out.push('', ...notes);
  return out.join('\n') + '\n';
}
