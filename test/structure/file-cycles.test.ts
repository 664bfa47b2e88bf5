import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT, tsFilesUnder } from '../helpers/files.js';

/**
 * File → files it imports, for every relative import of `src`'s .ts files: `import`, `import type`,
 * `export … from` and type-level `import('…')` alike (a cycle of types alone still ties two files
 * together for a reader, and becomes a runtime cycle as soon as a value crosses it).
 */
export function fileImports(src: string): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const file of tsFilesUnder(src)) {
    const to = new Set<string>();
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from |import\()'(\.[^']+)'/g)) {
      const target = resolve(dirname(file), m[1]).replace(/\.js$/, '.ts');
      const path = existsSync(target) ? target : join(target.replace(/\.ts$/, ''), 'index.ts');
      if (existsSync(path)) to.add(relative(src, path));
    }
    edges.set(relative(src, file), to);
  }
  return edges;
}

/** The strongly connected components of more than one file (Tarjan): each is a set of files in a cycle. */
export function importCycles(edges: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      onStack.delete(w);
      component.push(w);
      if (w === v) break;
    }
    if (component.length > 1 || edges.get(v)?.has(v)) out.push(component.sort());
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe('file structure', () => {
  for (const pkg of ['native', 'core', 'plots', 'cli', 'plugins']) {
    it(`${pkg}/src: no import cycles between files (type-only imports counted)`, () => {
      const edges = fileImports(join(ROOT, pkg, 'src'));
      assert.ok(
        [...edges.values()].some((s) => s.size > 0),
        'no imports found',
      );
      assert.deepEqual(
        importCycles(edges).map((c) => c.join(' ↔ ')),
        [],
      );
    });
  }

  it('the check finds a cycle of type-only imports, and none in a chain', () => {
    const edges = new Map([
      ['ports.ts', new Set(['masker/search-node.ts', 'model/handle.ts'])],
      ['masker/search-node.ts', new Set(['ports.ts'])],
      ['model/handle.ts', new Set<string>()],
    ]);
    assert.deepEqual(importCycles(edges), [['masker/search-node.ts', 'ports.ts']]);
    edges.set('masker/search-node.ts', new Set(['model/handle.ts']));
    assert.deepEqual(importCycles(edges), []);
  });
});
