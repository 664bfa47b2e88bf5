import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { RunReport } from '@e3/core';
import { checkPage, findChromium } from '@e3/plots';
import { buildReport } from '@e3/plugins';
import { e3, tempDir } from '../helpers/files.js';
import { skipBecause } from '../helpers/skip.js';

/** Runs script if any text reaches the page unescaped: as an element, or out of a double-quoted attribute. */
const PAYLOAD = '"><img src=x onerror=window.__pwned=1><script>window.__pwned=2</script>';

/** A resolved graph whose node ids, plugin names and ports (the diagram's labels) are `s`. */
function graphText(s: string): string {
  return stringify({
    apiVersion: 'e3/v1',
    nodes: { [`a${s}`]: { plugin: s, params: { note: s } }, [`b${s}`]: { plugin: s, in: { [s]: `a${s}.${s}` } } },
  });
}

/** Every field e3 report renders, as the evaluator writes them (numbers where numbers go). */
function report(): Record<string, any> {
  const history = [0, 1].map((step) => ({ step, loss: 1 - step / 4, lr: 0.1, alpha0: 0.5, alpha1: -0.5, keep0: 1 }));
  const candidates = [
    { mask: [1, 0], source: 'topk(alpha)', kl: 0.5, restart: 0 },
    { mask: [0, 1], source: 'topk(keep probability)', kl: 0.25, restart: 0 },
  ];
  const quality = (layers: number) => ({
    layers,
    parameters: 1000,
    accuracy: 0.5,
    perplexity: 2.5,
    klToTeacher: 0.125,
    samples: [{ prompt: '1+1=', answer: '2', output: '2' }],
    speed: { prefillTokensPerSecond: 100, decodeTokensPerSecond: 50 },
  });
  return {
    model: quality(1),
    teacher: quality(2),
    speedup: { prefill: 1.5, decode: 1.75, ideal: 2, repeats: 3 },
    mask: {
      mask: [0, 1],
      method: 'e3-search',
      scores: [0.25, 0.75],
      details: {
        keepProbability: [0.75, 0.5],
        alpha: [0.5, -0.5],
        candidates,
        chosenFrom: 'topk(keep probability)',
        calibrationKl: 0.25,
        forwardPasses: 7,
        wallSeconds: 1.5,
      },
    },
    training: {
      node: 'distill',
      steps: 2,
      tokens: 64,
      wallSeconds: 0.5,
      history: history.map(({ step, loss, lr }) => ({ step, loss, lr, forwardKl: loss })),
      evalCurve: [0, 1].map((step) => ({ step, tokens: 32 * step, accuracy: 0.5, kl: 0.25 })),
    },
    search: { node: 'search', restarts: [{ restart: 0, history }], wallSeconds: 1 },
    resolvedGraph: graphText('x'),
    wallSeconds: 2.5,
  };
}

/** Keys that name series in the charts (loss terms): the payload goes into their names too. */
const SERIES = new Set(['loss', 'forwardKl']);

/**
 * `value` with every string (and, with `numbers`, every number) replaced by `s`, recursively; the
 * resolved graph gets `s` as every node id, plugin and port; the loss terms are renamed `<term>s`.
 */
function inject(value: unknown, s: string, numbers: boolean): unknown {
  if (typeof value === 'string') return s;
  if (typeof value === 'number') return numbers ? s : value;
  if (Array.isArray(value)) return value.map((v) => inject(v, s, numbers));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      SERIES.has(k) ? `${k}${s}` : k,
      k === 'resolvedGraph' ? graphText(s) : inject(v, s, numbers),
    ]),
  );
}

function runDirWith(json: unknown): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'report.json'), JSON.stringify(json));
  return dir;
}

/** report.html and every figure beside it, as one text. */
function pageText(dir: string): string {
  const figs = existsSync(join(dir, 'figures')) ? readdirSync(join(dir, 'figures')) : [];
  return [
    readFileSync(join(dir, 'report.html'), 'utf8'),
    ...figs.map((f) => readFileSync(join(dir, 'figures', f), 'utf8')),
  ].join('\n');
}

describe('report.html escapes everything from report.json (through e3 report)', function () {
  this.timeout(120000);

  it('a payload in every string field (and the graph diagram labels) reaches the page only as text', () => {
    const dir = runDirWith(inject(report(), PAYLOAD, false));
    const r = e3(['report', dir]);
    assert.equal(r.code, 0, r.stderr);
    const html = pageText(dir);
    assert.doesNotMatch(html, /<img|<script/i, 'no element of the payload survives');
    assert.ok(html.includes('&lt;img src=x onerror=window.__pwned=1&gt;'), 'the payload is shown, escaped');
    assert.match(readFileSync(join(dir, 'figures', 'graph.svg'), 'utf8'), /&lt;img src=x/);
  });

  it('every string and number replaced: the renderer still escapes all of it (no schema in the way)', async () => {
    const built = await buildReport(inject(report(), PAYLOAD, true) as unknown as RunReport);
    const all = Object.values(built.files ?? {}).join('\n');
    assert.ok(built.files?.['report.html'].includes('median of —'), 'speedup.repeats is a number cell');
    assert.doesNotMatch(all, /<img|<script/i);
  });

  it('in headless Chromium no injected script runs', async function () {
    if (!findChromium()) skipBecause(this, 'no Chromium (Debian: apt-get install chromium, or set E3_CHROMIUM)');
    const strings = runDirWith(inject(report(), PAYLOAD, false));
    assert.equal(e3(['report', strings]).code, 0);
    const everything = tempDir();
    const built = await buildReport(inject(report(), PAYLOAD, true) as unknown as RunReport);
    writeFileSync(join(everything, 'report.html'), built.files!['report.html']);
    for (const dir of [strings, everything]) {
      const page = await checkPage(join(dir, 'report.html'), { selectors: ['img', 'script'], globals: ['__pwned'] });
      assert.equal(page.globals.__pwned, undefined, `${dir}: the payload ran`);
      assert.deepEqual(page.counts, { img: 0, script: 0 });
      assert.deepEqual(page.errors, []);
    }
  });

  it('a number field holding text is refused, located, with a fix; nothing is written', () => {
    const json = report();
    json.speedup.repeats = PAYLOAD;
    const dir = runDirWith(json);
    const r = e3(['report', dir]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /report\.json: field "speedup\.repeats": "speedup\.repeats" must be integer \(fix: the evaluator writes/,
    );
    assert.ok(!existsSync(join(dir, 'report.html')));
  });
});

describe('e3 report on a malformed report.json: a located error, never exit 70', () => {
  const cases: [string, string, RegExp][] = [
    ['null', 'null', /report\.json: value must be object/],
    [
      'mask not a list',
      JSON.stringify({ mask: { mask: 'abc', method: 'm' } }),
      /field "mask\.mask": "mask\.mask" must be array/,
    ],
    [
      'mask of text',
      JSON.stringify({ mask: { mask: ['x'], method: 'm' } }),
      /field "mask\.mask\.0": "mask\.mask\.0" must be one of 0, 1/,
    ],
    ['not JSON', '{"model": ', /report\.json: not valid JSON/],
    [
      'history rows of text',
      JSON.stringify({ training: { history: ['x'] } }),
      /field "training\.history\.0": "training\.history\.0" must be object/,
    ],
  ];
  for (const [what, text, message] of cases) {
    it(what, () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'report.json'), text);
      const r = e3(['report', dir]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /fix: the evaluator writes report\.json/);
      assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
    });
  }

  it('a resolvedGraph that is not YAML still renders (its text, escaped; no diagram)', () => {
    const dir = runDirWith({ ...report(), resolvedGraph: 'nodes: [a, {' });
    const r = e3(['report', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(join(dir, 'figures', 'graph.svg')));
    assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /nodes: \[a, \{/);
  });
});
