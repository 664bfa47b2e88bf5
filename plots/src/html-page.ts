/** Escapes text for HTML and SVG. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** One section of a page: a heading and its HTML (figures are inline SVG). */
export interface PageSection {
  readonly heading: string;
  readonly html: string;
}

const STYLE = `body{font-family:Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f4f4f4}td.text,th.text{text-align:left}tr.chosen{background:#fff6d6;font-weight:bold}
figure{margin:1em 0;display:inline-block;vertical-align:top}figure svg{max-width:100%;height:auto}
figcaption{font-size:.85em;color:#555}code,pre{background:#f6f6f6;padding:.1em .3em}pre{padding:.6em;overflow:auto}`;

/**
 * A self-contained HTML page: inline CSS, inline SVG, no scripts and no network, so that it
 * opens from disk, in a mail, or in a headless browser the same way.
 */
export function htmlPage(title: string, sections: readonly PageSection[], intro = ''): string {
  const body = sections.map((s) => `<section>\n<h2>${escapeHtml(s.heading)}</h2>\n${s.html}\n</section>`).join('\n');
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${escapeHtml(title)}</title>\n` +
    `<style>${STYLE}</style>\n</head>\n<body>\n<h1>${escapeHtml(title)}</h1>\n${intro}\n${body}\n</body>\n</html>\n`
  );
}

/** A figure: an SVG with a caption; `id` names it for tests and links. */
export function figure(id: string, svg: string, caption: string): string {
  return `<figure id="${escapeHtml(id)}" class="plot">${svg}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

/** A table from rows of cells; `text` columns are left-aligned; `rowClass` marks rows (e.g. "chosen"). */
export function htmlTable(
  head: readonly string[],
  rows: readonly (readonly (string | number)[])[],
  o: { text?: number[]; rowClass?: (i: number) => string | undefined } = {},
): string {
  const cls = (j: number) => (o.text?.includes(j) ? ' class="text"' : '');
  const th = head.map((h, j) => `<th${cls(j)}>${escapeHtml(h)}</th>`).join('');
  const trs = rows.map((r, i) => {
    const c = o.rowClass?.(i);
    const cells = r.map((v, j) => `<td${cls(j)}>${escapeHtml(String(v))}</td>`).join('');
    return `<tr${c ? ` class="${c}"` : ''}>${cells}</tr>`;
  });
  return `<table>\n<tr>${th}</tr>\n${trs.join('\n')}\n</table>`;
}
