import { Document, LineCounter, isNode, type Node } from 'yaml';
import type { Path } from './paths.js';

/** Where a value came from: a file position, or a CLI `--set` argument. */
export interface Location {
  readonly file: string;
  readonly line?: number;
  readonly col?: number;
}

/**
 * One origin of graph values: a parsed YAML document whose content lands at `mount`
 * in the merged graph (the root for a graph file; a `set:` entry's target for an overlay).
 */
interface Origin {
  readonly file: string;
  readonly doc: Document;
  readonly lines: LineCounter;
  readonly mount: Path;
  readonly docPath: Path;
}

/**
 * Maps paths in the merged graph back to file:line:col. Origins added later take
 * precedence, mirroring overlay order, so a value is reported where it was last set.
 */
export class SourceMap {
  private readonly origins: Origin[] = [];
  private readonly cliSets: { mount: Path; arg: string }[] = [];
  private readonly aliases: { from: Path; to: Path }[] = [];

  addDocument(file: string, doc: Document, lines: LineCounter, mount: Path = [], docPath: Path = []): void {
    this.origins.push({ file, doc, lines, mount, docPath });
  }

  addCliSet(mount: Path, arg: string): void {
    this.cliSets.push({ mount, arg });
  }

  /** Paths under `from` were written under `to` (a repeat round's node, written once in its group). */
  addAlias(from: Path, to: Path): void {
    this.aliases.push({ from, to });
  }

  /** The most specific known position of `path`; falls back to its nearest located parent. */
  locate(path: Path): Location | undefined {
    const alias = this.aliases.find((a) => startsWith(path, a.from));
    if (alias) return this.locate([...alias.to, ...path.slice(alias.from.length)]);
    for (let i = this.cliSets.length - 1; i >= 0; i--) {
      const s = this.cliSets[i];
      if (startsWith(path, s.mount)) return { file: `--set ${s.arg}` };
    }
    let best: { loc: Location; depth: number } | undefined;
    for (let i = this.origins.length - 1; i >= 0; i--) {
      const o = this.origins[i];
      if (!startsWith(path, o.mount) && !startsWith(o.mount, path)) continue;
      const rel = startsWith(path, o.mount) ? path.slice(o.mount.length) : [];
      for (let n = rel.length; n >= 0; n--) {
        const node = o.doc.getIn([...o.docPath, ...rel.slice(0, n)], true);
        if (isNode(node) && (node as Node).range) {
          const depth = o.mount.length + n;
          if (!best || depth > best.depth) {
            const pos = o.lines.linePos((node as Node).range![0]);
            best = { loc: { file: o.file, line: pos.line, col: pos.col }, depth };
          }
          break;
        }
      }
      if (best && best.depth >= path.length) break;
    }
    return best?.loc;
  }
}

function startsWith(path: Path, prefix: Path): boolean {
  return prefix.length <= path.length && prefix.every((seg, i) => String(seg) === String(path[i]));
}
