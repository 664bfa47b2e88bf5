import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '@e3/core';

/** Where a Chromium or Chrome might be: `E3_CHROMIUM` first, then the usual Debian/Ubuntu paths. */
const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
];

/** The Chromium to use, or undefined when none is installed. */
export function findChromium(): string | undefined {
  const env = process.env.E3_CHROMIUM;
  if (env) return existsSync(env) ? env : undefined;
  return CANDIDATES.find((p) => existsSync(p));
}

/** What a page did in the browser: console errors, page errors, and counts of selectors. */
export interface PageCheck {
  readonly errors: string[];
  readonly counts: Record<string, number>;
  readonly screenshot?: string;
  /** The values of the `globals` asked for (`window[name]`), e.g. a flag an injected script would set. */
  readonly globals: Record<string, unknown>;
}

/**
 * Opens a local HTML file in headless Chromium (no network: every request other than the
 * file itself is refused), collects console and page errors, counts `selectors`, and writes
 * a full-page PNG to `screenshot` if given.
 */
export async function checkPage(
  htmlFile: string,
  o: { selectors?: string[]; screenshot?: string; width?: number; globals?: string[] } = {},
): Promise<PageCheck> {
  const executablePath = findChromium();
  if (!executablePath) {
    throw new UserError(
      'no Chromium found for the screenshot; install it (Debian: apt-get install chromium) ' +
        'or set E3_CHROMIUM to its path',
    );
  }
  const { launch } = await import('puppeteer-core');
  const browser = await launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    const url = pathToFileURL(htmlFile).href;
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page: ${e instanceof Error ? e.message : String(e)}`));
    page.on('requestfailed', (r) => {
      if (r.url() !== url) errors.push(`request failed: ${r.url()}`);
    });
    await page.setRequestInterception(true);
    page.on('request', (r) => (r.url() === url || r.url().startsWith('data:') ? r.continue() : r.abort()));
    await page.setViewport({ width: o.width ?? 1200, height: 900 });
    await page.goto(url, { waitUntil: 'load' });
    const counts: Record<string, number> = {};
    for (const s of o.selectors ?? []) counts[s] = await page.$$eval(s, (els) => els.length);
    if (o.screenshot) await page.screenshot({ path: o.screenshot as `${string}.png`, fullPage: true });
    const globals: Record<string, unknown> = {};
    for (const name of o.globals ?? [])
      globals[name] = await page.evaluate((n) => (window as unknown as Record<string, unknown>)[n], name);
    return { errors, counts, screenshot: o.screenshot, globals };
  } finally {
    await browser.close();
  }
}

/**
 * Renders `<dir>/report.html` in headless Chromium and writes `<dir>/report.png` (full page).
 * Fails with a UserError if the page logs errors or there is no report.
 */
export async function screenshotReport(dir: string): Promise<string> {
  const html = join(dir, 'report.html');
  if (!existsSync(html))
    throw new UserError(`--screenshot: ${html} does not exist (the graph has no evaluator.suite node?)`);
  const png = join(dir, 'report.png');
  const r = await checkPage(html, { screenshot: png });
  if (r.errors.length) throw new UserError(`--screenshot: ${html} has errors in the browser: ${r.errors.join('; ')}`);
  return png;
}
