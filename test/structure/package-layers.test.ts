import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { ROOT, tsFilesUnder, writeFiles } from '../helpers/files.js';

/** e3's workspace packages, lowest first: each may import only the ones before it. */
const LAYERS = ['native', 'core', 'plots', 'cli', 'plugins'];

/** What the runtime must not pull in: a command line, a queue, a browser driver, plotting. */
const NOT_IN_CORE = ['commander', 'bullmq', 'ioredis', 'puppeteer-core', 'vega', 'vega-lite', '@dagrejs/dagre'];

/** The package that a bare import names: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Each .ts file of `src` (relative) → the packages it imports: static, `export … from` and `import('…')`. */
export function packageImports(src: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const file of tsFilesUnder(src)) {
    const found = new Set<string>();
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from |import\(|^import )'([^'.][^']*)'/gm)) {
      if (!m[1].startsWith('node:') && !builtinModules.includes(m[1])) found.add(packageOf(m[1]));
    }
    out.set(relative(src, file), found);
  }
  return out;
}

/** The packages a package.json lists (dependencies and optionalDependencies). */
function declared(pkg: string): Set<string> {
  const json = JSON.parse(readFileSync(join(ROOT, pkg, 'package.json'), 'utf8')) as Record<string, unknown>;
  const names = (field: string) => Object.keys((json[field] ?? {}) as Record<string, string>);
  return new Set([...names('dependencies'), ...names('optionalDependencies')]);
}

/** `file imports name` for each import of `imports` that `allowed` refuses. */
export function refusedImports(imports: Map<string, Set<string>>, allowed: (name: string) => boolean): string[] {
  return [...imports].flatMap(([file, names]) => [...names].filter((n) => !allowed(n)).map((n) => `${file} ${n}`));
}

describe('package layers', () => {
  for (const [i, pkg] of LAYERS.entries()) {
    it(`${pkg}/src imports only lower e3 packages and what its package.json lists`, () => {
      const imports = packageImports(join(ROOT, pkg, 'src'));
      const own = declared(pkg);
      const below = new Set(LAYERS.slice(0, i).map((p) => `@e3/${p}`));
      assert.deepEqual(
        refusedImports(imports, (n) => !n.startsWith('@e3/') || below.has(n)),
        [],
        'an import of an e3 package at or above this one',
      );
      assert.deepEqual(
        refusedImports(imports, (n) => own.has(n)),
        [],
        `packages imported but missing from ${pkg}/package.json`,
      );
    });
  }

  it('@e3/core (the runtime) neither lists nor imports a CLI, queue, browser or plotting package', () => {
    const listed = declared('core');
    assert.deepEqual(
      NOT_IN_CORE.filter((n) => listed.has(n)),
      [],
    );
    const imports = packageImports(join(ROOT, 'core', 'src'));
    assert.deepEqual(
      refusedImports(imports, (n) => !NOT_IN_CORE.includes(n)),
      [],
    );
    assert.ok(imports.size > 50 && [...imports.values()].some((s) => s.has('rxjs')), 'no imports found in core/src');
  });

  it('the checks find a static, a type-only, a re-exported and a dynamic import, not relative ones', () => {
    const src = join(
      writeFiles({
        'src/a.ts': "import 'reflect-metadata';\nimport type { Spec } from 'vega';\nexport * from '@e3/cli';\n",
        'src/sub/b.ts': "import { x } from '../a.js';\nconst p = await import('puppeteer-core');\n",
        'src/c.ts':
          "import { readFileSync } from 'node:fs';\nimport { join } from 'path';\nimport { map } from 'rxjs/operators';\n",
      }),
      'src',
    );
    const imports = packageImports(src);
    assert.deepEqual(
      refusedImports(imports, (n) => !NOT_IN_CORE.includes(n)),
      ['a.ts vega', 'sub/b.ts puppeteer-core'],
    );
    assert.deepEqual(
      refusedImports(imports, (n) => !n.startsWith('@e3/')),
      ['a.ts @e3/cli'],
    );
    assert.deepEqual([...imports.get('c.ts')!], ['rxjs']);
    assert.equal(packageOf('@tensorflow/tfjs-core/dist/ops'), '@tensorflow/tfjs-core');
  });
});
