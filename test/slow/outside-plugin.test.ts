import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { e3, ROOT, tempDir } from '../helpers/files.js';
import { writeOfflineProject } from '../helpers/offline-project.js';

/** A loss term over the hidden states, written against the packed packages' types. */
const PLUGIN = `import 'reflect-metadata';
import { inject, injectable } from 'inversify';
import * as tf from '@tensorflow/tfjs-core';
import { COMPONENT_PARAMS, type ComponentManifest } from '@e3/core';
import { weightedMean, type LossInputs, type LossTerm } from '@e3/plugins';

/** 1 − cosine similarity of each student block's output and its teacher block's, token-weighted. */
@injectable()
export class HiddenCosine implements LossTerm {
  readonly name = 'hiddenCosine';
  readonly requires = ['hiddenStates'] as const;
  readonly weight: number;
  constructor(@inject(COMPONENT_PARAMS) p: { weight: number }) {
    this.weight = p.weight;
  }
  compute(x: LossInputs): tf.Scalar {
    const { hidden, teacherHidden } = x;
    if (!hidden || !teacherHidden) throw new Error('outside.hiddenCosine: no hidden states');
    return tf.tidy(() => {
      const per = teacherHidden.map((t, j) => {
        const s = hidden[j + 1];
        const dot = tf.sum(tf.mul(s, t), -1);
        const norms = tf.mul(tf.norm(s, 'euclidean', -1), tf.norm(t, 'euclidean', -1));
        return tf.sub(1, tf.div(dot, tf.maximum(norms, 1e-8))) as tf.Tensor2D;
      });
      return weightedMean(tf.div(tf.addN(per), per.length) as tf.Tensor2D, x.tokenWeights, tf);
    });
  }
}

export const components: ComponentManifest[] = [
  {
    key: 'outside.hiddenCosine',
    kind: 'loss',
    doc: 'Cosine distance of student and teacher hidden states (a plugin built outside the repository).',
    params: { type: 'object', additionalProperties: false, properties: { weight: { type: 'number', default: 1 } } },
    requires: ['hiddenStates'],
    component: HiddenCosine,
  },
];
`;

/** Uses a field that does not exist: the packed types must catch it. */
const WRONG = `import type { Dataset } from '@e3/plugins';
export const id = (d: Dataset): string => d.fingerprnt;
`;

const TSCONFIG = (include: string) =>
  JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: false,
      outDir: 'dist',
      rootDir: include,
      types: ['node'],
      skipLibCheck: true,
    },
    include: [include],
  });

const run = (cmd: string, args: string[], cwd: string) =>
  spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 240_000, env: { ...process.env, npm_config_fund: 'false' } });

/**
 * Issue 28, "interfaces a plugin author can see": the workspace packages packed with `npm pack`
 * (every workspace, .d.ts included), installed offline into a folder outside the repository,
 * a plugin type-checked and built there with tsc against them, then run in a graph by the e3 CLI.
 * About 2.5 min on the 2-core test machine (npm ci of the packages' dependencies from the npm cache
 * writes some 450 MB), so only with E3_SLOW=1.
 */
(process.env.E3_SLOW ? describe : describe.skip)(
  'a plugin built outside the repository, packed packages (slow suite)',
  function () {
    this.timeout(600_000);
    const dir = tempDir('e3-outside-plugin-');
    const packs = join(dir, 'packs');
    const project = join(dir, 'my-plugin');
    const tarballs = new Map<string, string>();

    before(function () {
      assert.ok(relative(ROOT, dir).startsWith('..'), `${dir} is outside the repository`);
      mkdirSync(packs);
      const r = run('npm', ['pack', '--workspaces', '--pack-destination', packs, '--json'], ROOT);
      assert.equal(r.status, 0, r.stderr);
      const workspaces = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).workspaces as string[];
      const packed = JSON.parse(r.stdout) as { name: string; filename: string; files: { path: string }[] }[];
      assert.equal(packed.length, workspaces.length, 'one tarball per workspace package');
      for (const ws of workspaces) {
        const pkg = JSON.parse(readFileSync(join(ROOT, ws, 'package.json'), 'utf8'));
        const p = packed.find((x) => x.name === pkg.name);
        assert.ok(p, `${pkg.name} packed`);
        const files = new Set(p.files.map((f) => f.path));
        for (const entry of [pkg.main, pkg.types].filter(Boolean))
          assert.ok(files.has(entry.replace(/^\.\//, '')), `${p.filename} holds ${entry} (build first)`);
        tarballs.set(pkg.name, join(packs, p.filename));
      }
      mkdirSync(project);
      writeOfflineProject(project, tarballs, ['typescript', '@types/node']);
      const install = run(
        'npm',
        ['ci', '--offline', '--ignore-scripts', '--omit=optional', '--no-audit', '--no-fund'],
        project,
      );
      const uncached = /ENOTCACHED/.test(install.stderr)
        ? ' (a dependency tarball is not in the npm cache: run npm ci in the repository, which fills it)'
        : '';
      assert.equal(install.status, 0, `npm ci --offline of the tarballs${uncached}: ${install.stderr}`);
    });

    it('installs the packages with their .d.ts', () => {
      for (const name of tarballs.keys()) {
        const pkg = JSON.parse(readFileSync(join(project, 'node_modules', name, 'package.json'), 'utf8'));
        if (pkg.types) assert.ok(existsSync(join(project, 'node_modules', name, pkg.types)), `${name}: ${pkg.types}`);
      }
    });

    it('type-checks a plugin against them, and their types catch a wrong field', () => {
      const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
      writeProject(project, { 'src/hidden-cosine.ts': PLUGIN, 'tsconfig.json': TSCONFIG('src') });
      const ok = run(process.execPath, [tsc, '-p', 'tsconfig.json'], project);
      assert.equal(ok.status, 0, ok.stdout + ok.stderr);
      assert.ok(existsSync(join(project, 'dist', 'hidden-cosine.js')));
      writeProject(project, { 'wrong/wrong.ts': WRONG, 'tsconfig.wrong.json': TSCONFIG('wrong') });
      const bad = run(process.execPath, [tsc, '-p', 'tsconfig.wrong.json', '--noEmit'], project);
      assert.equal(bad.status, 2, bad.stdout);
      assert.match(bad.stdout, /Property 'fingerprnt' does not exist on type 'Dataset'\. Did you mean 'fingerprint'\?/);
    });

    it('e3 runs it in a graph: its loss term is recorded with the others', () => {
      const graph = [
        'apiVersion: e3/v1',
        'seed: 0',
        'backend: wasm',
        'plugins: [./dist/hidden-cosine.js]',
        'nodes:',
        '  data: { plugin: data.arithmetic, params: { maxOperand: 9, heldoutFraction: 0.2 } }',
        `  teacher: { plugin: model.hfCheckpoint, params: { path: ${join(ROOT, 'models', 'arith-teacher')} } }`,
        `  targets: { plugin: teacher.topkCache, params: { k: 2, dir: ${join(dir, 'cache')}, calibration: 16, heldout: 0 },` +
          ' in: { model: teacher.model, data: data.data } }',
        '  mask: { plugin: masker.fixed, params: { drop: [3] }, in: { model: teacher.model } }',
        '  pruned: { plugin: model.prune, in: { model: teacher.model, mask: mask.mask } }',
        '  distill:',
        '    plugin: distiller.train',
        '    params:',
        '      steps: 2',
        '      batchSize: 4',
        '      logEvery: 1',
        '      warmupSteps: 0',
        '      loss: [ { component: loss.forwardKl }, { component: outside.hiddenCosine, weight: 0.5 } ]',
        '    in: { model: pruned.model, targets: targets.targets, data: data.data, teacher: teacher.model }',
        '  eval:',
        '    plugin: evaluator.suite',
        '    params: { examples: 8, maxNewTokens: 4, speed: { enabled: false } }',
        '    in: { model: distill.model, teacher: teacher.model, data: data.data, metrics: distill.metrics }',
      ].join('\n');
      writeProject(project, { 'graph.yaml': graph + '\n' });
      const out = join(dir, 'run');
      const r = e3(['run', join(project, 'graph.yaml'), '--out', out, '--quiet'], { timeoutMs: 300_000 });
      assert.equal(r.code, 0, r.stderr);
      const history = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).training.history;
      assert.equal(history.length, 2);
      for (const row of history) {
        assert.ok(row.hiddenCosine > 0 && row.hiddenCosine < 2 && row.forwardKl > 0, JSON.stringify(row));
        assert.ok(Math.abs(row.loss - (row.forwardKl + 0.5 * row.hiddenCosine)) < 1e-4, 'the total counts it at 0.5');
      }
    });
  },
);

function writeProject(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}
