import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPage, findChromium } from '@e3/plots';
import { e3, tempDir } from '../helpers/files.js';
import { reducedQuickstart } from '../helpers/quickstart.js';
import { skipBecause } from '../helpers/skip.js';

const FIGURES = [
  'search-alpha-r0',
  'search-keep-r0',
  'search-loss',
  'search-temperature',
  'search-curriculum',
  'search-candidates',
  'training-loss',
  'training-terms',
  'training-lr',
  'heldout-accuracy',
  'heldout-kl',
  'speedup',
  'graph',
];

describe('report.html and its figures (through the CLI)', function () {
  this.timeout(300000);
  const run = join(tempDir(), 'run');
  let runOut: ReturnType<typeof e3>;
  before(() => {
    runOut = reducedQuickstart(run, ['--quiet']);
  });

  it('writes report.html, one SVG per figure, and report.md links each of them', () => {
    assert.equal(runOut.code, 0, runOut.stderr);
    const md = readFileSync(join(run, 'report.md'), 'utf8');
    for (const id of FIGURES) {
      const svg = readFileSync(join(run, 'figures', `${id}.svg`), 'utf8');
      assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/, id);
      assert.ok(md.includes(`](figures/${id}.svg)`), `report.md links ${id}`);
    }
    const html = readFileSync(join(run, 'report.html'), 'utf8');
    assert.equal((html.match(/<figure id="/g) ?? []).length, FIGURES.length);
    assert.doesNotMatch(html, /<script|<link|<img|src=|url\((?!#)/, 'self-contained: nothing to fetch');
    assert.ok(
      existsSync(join(run, 'pruned', 'report.html')) && existsSync(join(run, 'pruned', 'figures', 'graph.svg')),
      'the export carries them',
    );
    assert.equal(
      JSON.parse(readFileSync(join(run, 'pruned', 'e3_pruning.json'), 'utf8')).method,
      'e3-pruner (quickstart.yaml)',
    );
  });

  it('explains the chosen mask: candidates, their KL and source, every layer kept below a removed one', () => {
    const report = JSON.parse(readFileSync(join(run, 'report.json'), 'utf8'));
    const md = readFileSync(join(run, 'report.md'), 'utf8');
    assert.match(md, /### Why this mask/);
    for (const c of report.mask.details.candidates)
      assert.ok(md.includes(`| ${c.source} | ${c.mask.join('')}`), c.source);
    const keepP: number[] = report.mask.details.keepProbability;
    const mask: number[] = report.mask.mask;
    const removed = mask.flatMap((x, i) => (x ? [] : [i]));
    for (const [i, x] of mask.entries()) {
      const contradicts = x === 1 && removed.some((r) => keepP[r] > keepP[i]);
      assert.equal(md.includes(`Layer ${i} is kept with keep probability`), contradicts, `layer ${i}`);
    }
    assert.equal(report.search.restarts[0].history[0].keep0 >= 0, true, 'keep probabilities per step are recorded');
  });

  it('renders in headless Chromium: no console errors, every plot drawn; --screenshot writes a PNG', async function () {
    if (!findChromium()) skipBecause(this, 'no Chromium (Debian: apt-get install chromium, or set E3_CHROMIUM)');
    const page = await checkPage(join(run, 'report.html'), {
      selectors: ['figure.plot svg', 'svg .mark-line path', 'svg .mark-rect path', 'svg g.node'],
    });
    assert.deepEqual(page.errors, []);
    assert.equal(page.counts['figure.plot svg'], FIGURES.length);
    assert.ok(page.counts['svg .mark-line path'] >= 5, 'line charts have lines');
    assert.ok(page.counts['svg .mark-rect path'] >= 1, 'the keep-probability heatmap has cells');
    assert.equal(page.counts['svg g.node'], 8, 'one box per node of the graph');
    const r = e3(['report', run, '--screenshot']);
    assert.equal(r.code, 0, r.stderr);
    const png = readFileSync(join(run, 'report.png'));
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.ok(png.length > 20000, `a real page, not a blank one (${png.length} bytes)`);
  });

  it('plots tell the truth in Chromium: total and terms apart, lr at every step, n beside accuracies, the search schedules', async function () {
    if (!findChromium()) skipBecause(this, 'no Chromium (Debian: apt-get install chromium, or set E3_CHROMIUM)');
    const report = JSON.parse(readFileSync(join(run, 'report.json'), 'utf8'));
    const steps = report.training.steps as number; // 6 distillation steps
    const searchSteps = report.search.schedule.steps as number; // 12 search steps
    const points = (id: string) => `figure#${id} svg g.mark-symbol.role-mark path`;
    const ids = [
      'training-loss',
      'training-terms',
      'training-lr',
      'search-loss',
      'search-temperature',
      'search-curriculum',
    ];
    const page = await checkPage(join(run, 'report.html'), { selectors: ids.map(points) });
    assert.deepEqual(page.errors, []);
    assert.equal(page.counts[points('training-lr')], steps, 'one learning-rate point per step');
    assert.equal(page.counts[points('training-loss')], report.training.history.length, 'the total alone');
    const terms = Object.keys(report.training.history[0]).filter((k) => /Kl$/.test(k)).length;
    assert.equal(page.counts[points('training-terms')], terms * report.training.history.length, 'the terms alone');
    assert.equal(page.counts[points('search-temperature')], searchSteps, 'τ at every search step');
    assert.equal(page.counts[points('search-curriculum')], searchSteps, 'layers kept at every search step');
    assert.equal(page.counts[points('search-loss')], report.search.restarts[0].history.length);
    const html = readFileSync(join(run, 'report.html'), 'utf8');
    const n = report.training.evalCurve[0].n as number;
    assert.equal(n, 16, 'evalExamples');
    assert.ok(html.includes(`Held-out exact match (n = ${n})`), 'the curve says its n');
    assert.match(html, new RegExp(`<td>\\d+\\.\\d% \\(n = ${report.model.answered}\\)</td>`), 'the table says its n');
    assert.ok(html.includes('Total loss (weighted sum of the terms)') && html.includes('Loss terms (unweighted)'));
  });

  it('e3 report on a directory without report.json fails with the fix, writing nothing', () => {
    const dir = tempDir();
    const r = e3(['report', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read .*report\.json.*evaluator\.suite/);
    assert.ok(!existsSync(join(dir, 'report.html')));
  });
});
