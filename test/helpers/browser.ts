import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Debian's chromium, or MANYMODELS_CHROMIUM; null when none is installed. */
export function chromiumPath(): string | null {
  const candidates = [process.env.MANYMODELS_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);
  return candidates.find((p) => existsSync(p)) ?? null;
}

export interface PageCheck {
  /** Console errors, uncaught exceptions, and requests that failed or were blocked. */
  problems: string[];
  /** Per figure: its chart id, the data marks it promised and the SVG elements drawn in its data marks. */
  charts: { id: string; expected: number; drawn: number; svgs: number; labelled: boolean; described: boolean }[];
  /** Every element of the page. */
  domNodes: number;
}

/**
 * Opens an HTML file in headless Chromium with the network cut off (every request but the file
 * itself is aborted and counted as a problem), lets the charts draw, counts their marks, and saves
 * a full-page PNG screenshot.
 */
export async function checkInBrowser(htmlFile: string, screenshot: string): Promise<PageCheck> {
  const { chromium } = await import('playwright-core');
  const exe = chromiumPath();
  if (exe === null) throw new Error('no Chromium installed');
  const profile = mkdtempSync(join(tmpdir(), 'mm-chromium-'));
  // a new, empty profile (--user-data-dir) for each run
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: exe,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
    offline: true,
  });
  const problems: string[] = [];
  try {
    const page = await context.newPage();
    const url = pathToFileURL(resolve(htmlFile)).href;
    await page.route('**/*', (route) => {
      if (route.request().url() === url) return route.continue();
      problems.push(`blocked request: ${route.request().url()}`);
      return route.abort();
    });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
    await page.goto(url, { waitUntil: 'load' });
    const charts = await page.$$eval('figure[data-chart]', (figs) =>
      figs.map((f) => {
        const svgs = [...f.querySelectorAll('.chart svg[role="img"]')];
        return {
          id: f.getAttribute('data-chart') ?? '',
          expected: Number(f.getAttribute('data-expected-marks')),
          drawn: f.querySelectorAll('g[aria-description="data"] > *').length,
          svgs: svgs.length,
          labelled: svgs.length > 0 && svgs.every((s) => (s.getAttribute('aria-label') ?? '').length > 0),
          described: svgs.length > 0 && svgs.every((s) => ((globalThis as any).document.getElementById(s.getAttribute('aria-describedby') ?? '')?.textContent ?? '').length > 0),
        };
      }),
    );
    const domNodes = await page.evaluate(() => (globalThis as any).document.getElementsByTagName('*').length as number);
    await page.screenshot({ path: screenshot, fullPage: true });
    return { problems, charts, domNodes };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
