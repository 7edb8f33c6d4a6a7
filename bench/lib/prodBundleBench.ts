/* eslint-disable no-console */
// The production bundle serving the built frontend (app-backend, one port for `/` and `/api`):
// in Chromium, how long a service's Releases tab takes to become interactive — from a full
// navigation to /catalog/default/component/<service>/releases until the "Promote dev to staging"
// button is enabled (the environments, their artifacts and the promotion guard have loaded).
// Baseline in the same run and browser: the static load of the same URL's index.html with its
// scripts and styles (navigation until the `load` event, nothing rendered from the API).
// One replica of reliability/lib/prodStack.ts (PostgreSQL, config repo over HTTP, OIDC sign-in
// through the app's own sign-in page and popup against the stand-in IdP).
import { assert, errorMessage, request } from '../../reliability/lib/harness';
import { upload } from '../../reliability/lib/fixtures';
import { startProdStack } from '../../reliability/lib/prodStack';

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/** One request of a page load, relative to navigation start (the browser's Resource Timing). */
export interface WaterfallEntry {
  url: string;
  type: string;
  startMs: number;
  endMs: number;
  /** bytes on the wire (0 when served from the browser's cache) and decoded body bytes */
  transferBytes: number;
  bodyBytes: number;
}

export interface Waterfall {
  interactiveMs: number;
  /** navigation: the document's response end, DOMContentLoaded end, load end */
  documentMs: number;
  domContentLoadedMs: number;
  loadMs: number;
  entries: WaterfallEntry[];
}

/** The waterfall of a sample as text: one line per request, in start order. */
export function formatWaterfall(w: Waterfall): string {
  const lines = [
    `navigation: document ${w.documentMs} ms, DOMContentLoaded ${w.domContentLoadedMs} ms, load ${w.loadMs} ms, button enabled ${w.interactiveMs} ms`,
    'start   end     dur   wire KB  body KB  type    url',
  ];
  for (const e of w.entries) {
    lines.push(
      `${String(e.startMs).padStart(5)}  ${String(e.endMs).padStart(5)}  ${String(e.endMs - e.startMs).padStart(5)}  ${(e.transferBytes / 1024).toFixed(1).padStart(7)}  ${(e.bodyBytes / 1024).toFixed(1).padStart(7)}  ${e.type.padEnd(6)}  ${e.url}`,
    );
  }
  return lines.join('\n');
}

export async function runProdBundleBench(o: { bundle: string; samples: number }) {
  const stack = await startProdStack({ bundle: o.bundle, replicas: 1, services: 3, log: l => console.error(`[bench] ${l}`) });
  const [replica] = stack.replicas;
  const url = replica.url;
  let browser: any;
  try {
    await stack.catalogReady();
    // What the tab shows: svc-00 with an artifact in staging and a newer one in dev (so the
    // promotion from dev to staging is allowed), made through the API as CI and alice.
    const { response } = await stack.signIn(url);
    const token = response?.response?.backstageIdentity?.token;
    assert(token, `sign-in failed: ${JSON.stringify(response).slice(0, 200)}`);
    const service = 'svc-00';
    const arts = [upload(service, 1), upload(service, 2)];
    for (const art of arts) {
      const r = await request(url, 'POST', '/api/release-manager/artifacts', { auth: `Bearer ${stack.tokens.ci}`, body: art.body });
      assert(r.status === 201, `upload ${r.status} ${errorMessage(r)}`);
    }
    for (const [art, environment] of [
      [arts[0], 'dev'],
      [arts[0], 'staging'],
      [arts[1], 'dev'],
    ] as const) {
      const r = await request(url, 'POST', '/api/release-manager/releases', {
        auth: `Bearer ${token}`,
        body: { service, environment, artifactId: art.id },
      });
      assert(r.status === 200, `release ${environment} ${r.status} ${errorMessage(r)}`);
    }

    const { chromium } = require('playwright-core');
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await browser.newPage();
    // Sign in as a user would: the app's sign-in page, the OIDC popup (the stand-in IdP redirects
    // straight back), then the portal. Later full loads restore the session from the refresh cookie.
    stack.signInAs({ sub: 'u-alice', email: 'alice@bank.example', name: 'Alice' });
    await page.goto(url);
    const [popup] = await Promise.all([
      page.waitForEvent('popup', { timeout: 60_000 }),
      page.getByRole('button', { name: 'Sign in' }).first().click({ timeout: 60_000 }),
    ]);
    await popup.waitForEvent('close', { timeout: 60_000 }).catch(() => undefined);
    await page.getByRole('link', { name: 'Catalog', exact: true }).first().waitFor({ timeout: 60_000 });

    // What the app's session restore got on each full load (for the error below).
    const refreshes: string[] = [];
    page.on('response', (r: any) => {
      if (r.url().includes('/api/auth/oidc/refresh')) refreshes.push(`${r.status()}`);
    });
    const tab = `${url}/catalog/default/component/${service}/releases`;
    const interactive = async () => {
      const t0 = Date.now();
      await page.goto(tab, { waitUntil: 'commit' });
      // resolves with the page's clock (ms since its navigation started) when the button is enabled
      let enabledAt: any;
      try {
        enabledAt = await page.waitForFunction(
          () => {
            const b = document.querySelector('[data-testid="promote-dev-to-staging"]') as HTMLButtonElement | null;
            return !!b && !b.disabled && Math.round(performance.now());
          },
          undefined,
          { timeout: 60_000, polling: 'raf' },
        );
      } catch (e) {
        // say what the page showed instead: signed out (no session restored), a disabled button and why
        const seen = await page
          .evaluate(() => {
            const b = document.querySelector('[data-testid="promote-dev-to-staging"]') as HTMLButtonElement | null;
            const why = document.querySelector('[data-testid="promote-blocked-dev-to-staging"]')?.textContent;
            if (b) return `button present, disabled=${b.disabled}${why ? `: ${why}` : ''}`;
            return `no button; page text: ${(document.body.innerText || '').replace(/\s+/g, ' ').slice(0, 200)}`;
          })
          .catch(() => 'page not readable');
        const cookies = (await page.context().cookies()).map((c: any) => `${c.name}@${c.domain}${c.path}`).join(',');
        throw new Error(
          `Releases tab not interactive within 60 s (${seen}; session restore answers: ${refreshes.join(',') || 'none'}; cookies: ${cookies || 'none'}): ${(e as Error).message.split('\n')[0]}`,
        );
      }
      const ms = Date.now() - t0;
      // What the browser fetched for this load, for the waterfall (not part of the measured time).
      const interactiveMs = (await enabledAt.jsonValue()) as number;
      const timing = await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        const res = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
        return {
          documentMs: Math.round(nav.responseEnd),
          domContentLoadedMs: Math.round(nav.domContentLoadedEventEnd),
          loadMs: Math.round(nav.loadEventEnd),
          entries: res.map(r => ({
            url: r.name.replace(location.origin, ''),
            type: r.initiatorType,
            startMs: Math.round(r.startTime),
            endMs: Math.round(r.responseEnd),
            transferBytes: r.transferSize,
            bodyBytes: r.decodedBodySize,
          })),
        };
      });
      waterfalls.push({ ms, waterfall: { interactiveMs, ...timing } });
      return ms;
    };
    const waterfalls: { ms: number; waterfall: Waterfall }[] = [];
    const staticLoad = async () => {
      const t0 = Date.now();
      await page.goto(tab, { waitUntil: 'load' });
      return Date.now() - t0;
    };
    // One warm-up of each (first compile of the page's scripts, connection setup), then alternate.
    await interactive();
    await staticLoad();
    const tabMs: number[] = [];
    const baseMs: number[] = [];
    for (let i = 0; i < o.samples; i++) {
      baseMs.push(await staticLoad());
      tabMs.push(await interactive());
    }
    // The waterfall of the median sample (the warm-up's is left out).
    const measured = waterfalls.slice(1).sort((a, b) => a.ms - b.ms);
    const median = measured[Math.min(measured.length - 1, Math.floor(0.5 * measured.length))];
    return {
      samples: o.samples,
      waterfall: median?.waterfall,
      releasesTab: { p50Ms: quantile(tabMs, 0.5), maxMs: Math.max(...tabMs), all: tabMs },
      staticLoad: { p50Ms: quantile(baseMs, 0.5), maxMs: Math.max(...baseMs), all: baseMs },
      targetMs: 1500,
    };
  } finally {
    await browser?.close().catch(() => undefined);
    await stack.stop();
  }
}
