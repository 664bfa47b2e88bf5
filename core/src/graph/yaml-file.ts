import { readFileSync } from 'node:fs';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { Diagnostic } from '../errors.js';
import { isPlainObject, type Path } from './paths.js';

/** A YAML mapping read from a file, with the positions of its values. */
export interface YamlFile {
  readonly doc: Document;
  readonly lines: LineCounter;
  readonly data: Record<string, unknown>;
}

/** What a file should be, for its messages: `graph` / `a graph`, and how one starts. */
export interface YamlKind {
  readonly name: string;
  readonly article: string;
  readonly start: string;
}

/** At most this many YAML syntax errors are shown; later ones are mostly echoes of the first. */
const SHOWN_SYNTAX_ERRORS = 5;

/**
 * Reads `file` (named `shown` in messages) as one YAML mapping with unique keys. When it cannot be
 * read, has syntax errors or is not a mapping, the problems (located at file:line:col, with a fix)
 * go to `problems` and the result is undefined.
 */
export function readYamlMapping(
  file: string,
  shown: string,
  kind: YamlKind,
  problems: Diagnostic[],
): YamlFile | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    problems.push({ file: shown, message: `${kind.name} file cannot be read (${code})`, fix: 'check its permissions' });
    return undefined;
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length) {
    const first = doc.errors.slice(0, SHOWN_SYNTAX_ERRORS);
    for (const e of first) {
      const pos = e.linePos?.[0];
      const fix = e.code === 'DUPLICATE_KEY' ? 'remove or rename one of the duplicate keys' : 'fix the YAML syntax';
      problems.push({ file: shown, line: pos?.line, col: pos?.col, message: e.message.split('\n')[0], fix });
    }
    const more = doc.errors.length - first.length;
    if (more > 0) problems.push({ file: shown, message: `… and ${more} more YAML errors after these` });
    return undefined;
  }
  const data = doc.toJS() as unknown;
  if (!isPlainObject(data)) {
    const message = `${kind.article} must be a YAML mapping`;
    problems.push({ file: shown, line: 1, col: 1, message, fix: kind.start });
    return undefined;
  }
  return { doc, lines, data };
}

/**
 * The position of the value at `path` in a YAML document (with `key`, of its key in the parent
 * mapping), else of its nearest parent that has one.
 */
export function locateIn(doc: Document, lines: LineCounter, path: Path, key = false): { line?: number; col?: number } {
  const parent = key && path.length ? doc.getIn(path.slice(0, -1), true) : undefined;
  const pair = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && p.key.value === path.at(-1)) : undefined;
  if (isScalar(pair?.key) && pair.key.range) {
    const pos = lines.linePos(pair.key.range[0]);
    return { line: pos.line, col: pos.col };
  }
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) {
      const pos = lines.linePos(node.range[0]);
      return { line: pos.line, col: pos.col };
    }
  }
  return {};
}
