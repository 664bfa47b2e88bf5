import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, tempDir, writeFiles } from '../helpers/files.js';

const SCRIPT = join(ROOT, 'docs', 'plugin-api.js');
const check = (file?: string) =>
  spawnSync(process.execPath, [SCRIPT, '--check', ...(file ? ['--file', file] : [])], { encoding: 'utf8' });

interface PluginApi {
  pluginApiSection(root?: string, api?: { heading: string; from: string; names: string[] }[]): string;
}
const load = async (): Promise<PluginApi> => (await import(pathToFileURL(SCRIPT).href)) as PluginApi;

/** docs/PLUGINS.md's interface reference against the packages' .d.ts (issue 28, "interfaces a plugin author can see"). */
describe('docs/PLUGINS.md interface reference (docs/plugin-api.js)', function () {
  this.timeout(120_000);

  it('is what the packages declare, every member of every plugin-facing type documented', () => {
    const r = check();
    assert.equal(r.status, 0, r.stderr);
    const doc = readFileSync(join(ROOT, 'docs', 'PLUGINS.md'), 'utf8');
    for (const needle of [
      'readonly fingerprint: string;',
      'named(): Map<string, tf.Variable>;',
      'readonly hidden?: tf.Tensor3D[];',
      'readonly teacherHidden?: tf.Tensor3D[];',
      'fork(name: string): Rng;',
      'connect(inputs: Record<string, Observable<unknown>>, params: P, ctx: NodeContext)',
    ])
      assert.ok(doc.includes(needle), needle);
  });

  it('fails when the reference is stale, saying how to regenerate it', () => {
    const dir = tempDir();
    const stale = readFileSync(join(ROOT, 'docs', 'PLUGINS.md'), 'utf8').replace(
      /\n\s*readonly fingerprint: string;/,
      '',
    );
    writeFileSync(join(dir, 'PLUGINS.md'), stale);
    const r = check(join(dir, 'PLUGINS.md'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /PLUGINS\.md: the interface reference differs .*npm run build && npm run docs:plugins/);
  });

  it('refuses a member without TSDoc, naming it and the fix', async () => {
    const root = writeFiles({
      'package.json': JSON.stringify({ workspaces: ['fake'] }),
      'fake/package.json': JSON.stringify({ name: '@e3/fake', types: 'index.d.ts' }),
      'fake/index.d.ts':
        '/** A dataset. */\nexport interface Dataset {\n  /** Documented. */\n  readonly a: string;\n' +
        '  readonly fingerprint: string;\n}\n',
    });
    const { pluginApiSection } = await load();
    assert.throws(
      () => pluginApiSection(root, [{ heading: 'h', from: '@e3/fake', names: ['Dataset'] }]),
      /no TSDoc comment: Dataset\.fingerprint\. Add a \/\*\* … \*\/ comment/,
    );
    assert.throws(
      () => pluginApiSection(root, [{ heading: 'h', from: '@e3/fake', names: ['Rng'] }]),
      /@e3\/fake does not export Rng; fix the list API in docs\/plugin-api\.js/,
    );
  });
});
