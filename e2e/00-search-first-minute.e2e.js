/**
 * Search from minute one: on a fresh start, a demo service is found by name within a minute of the
 * app being up (the search freshness module re-indexes after ingestion instead of waiting for the
 * collators' 10-minute schedule). Runs first (file name) so the clock is honest;
 * scripts/test-all.js passes the moment the app answered as DEVPLANE_E2E_APP_READY_AT.
 * The clock is read on the search API the page calls (a browser on a loaded 2-core machine adds its
 * own seconds); then the search page shows the same result.
 */
const {
  APP_URL,
  BACKEND_URL,
  signIn,
  screenshot,
  runTests,
  eventually,
  guestToken,
} = require('./lib');

const readyAt = Number(process.env.DEVPLANE_E2E_APP_READY_AT) || Date.now();
const LIMIT_MS = 60_000;

runTests(__filename, [
  {
    name: 'a service is found by name within a minute of start',
    async fn({ page }) {
      // a loaded 2-core machine (other apps building) needs more than the 30 s default
      page.setDefaultNavigationTimeout(120_000);
      const token = await guestToken();
      await eventually(
        async () => {
          const res = await fetch(
            `${BACKEND_URL}/api/search/query?term=payment-gateway`,
            { headers: { authorization: `Bearer ${token}` } },
          );
          if (!res.ok) return false;
          const { results } = await res.json();
          return results.some(
            r =>
              r.type === 'software-catalog' &&
              r.document.title === 'payment-gateway' &&
              /component/.test(r.document.location),
          );
        },
        {
          timeoutMs: Math.max(readyAt + LIMIT_MS - Date.now(), 5_000),
          intervalMs: 1_000,
          what: 'the payment-gateway component in the search results',
        },
      );
      const elapsed = Date.now() - readyAt;
      console.log(`  found after ${Math.round(elapsed / 1000)} s from app ready`);
      if (elapsed > LIMIT_MS) {
        throw new Error(`found after ${Math.round(elapsed / 1000)} s, more than a minute`);
      }
      // the search page shows it: the service (a Component), not only its squad or system
      await signIn(page, `/search?query=payment-gateway`);
      await page
        .getByRole('link', { name: 'payment-gateway', exact: true })
        .first()
        .waitFor({ timeout: 60_000 });
      await page
        .getByText(/Accepts card and account-to-account payments/)
        .first()
        .waitFor({ timeout: 30_000 });
      await screenshot(page, 'search-first-minute');
    },
  },
]);
