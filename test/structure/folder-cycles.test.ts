import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ROOT, tsFilesUnder } from '../helpers/files.js';

/**
 * The folder each relative import of `src`'s files points into: folder → folders it imports
 * (type-only imports too). Files at the top of `src` (index, modules, ports: the package's
 * wiring) are not folders and are left out.
 */
export function folderImports(src: string): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  const folderOf = (file: string) => {
    const parts = relative(src, file).split('/');
    return parts.length > 1 ? parts[0] : undefined;
  };
  for (const file of tsFilesUnder(src)) {
    const from = folderOf(file);
    if (!from) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
      const to = folderOf(resolve(file, '..', m[1]));
      if (to && to !== from) {
        if (!edges.has(from)) edges.set(from, new Set());
        edges.get(from)!.add(to);
      }
    }
  }
  return edges;
}

/** Every cycle among the folders, each as a path a → b → … → a (empty: none). */
export function folderCycles(edges: Map<string, Set<string>>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const visit = (node: string, path: string[]) => {
    const at = path.indexOf(node);
    if (at >= 0) {
      cycles.push([...path.slice(at), node]);
      return;
    }
    if (done.has(node)) return;
    for (const next of edges.get(node) ?? []) visit(next, [...path, node]);
    done.add(node);
  };
  for (const node of edges.keys()) visit(node, []);
  return cycles;
}

describe('folder structure', () => {
  for (const pkg of ['plugins', 'cli', 'core']) {
    it(`${pkg}/src: no import cycles between folders`, () => {
      const edges = folderImports(join(ROOT, pkg, 'src'));
      assert.ok(edges.size > 0, 'no imports found');
      const cycles = folderCycles(edges);
      assert.deepEqual(
        cycles.map((c) => c.join(' → ')),
        [],
      );
    });
  }

  it('the check finds a cycle when there is one', () => {
    const edges = new Map([
      ['masker', new Set(['importance', 'model'])],
      ['importance', new Set(['masker'])],
      ['model', new Set<string>()],
    ]);
    assert.deepEqual(
      folderCycles(edges).map((c) => c.join(' → ')),
      ['masker → importance → masker'],
    );
  });
});
