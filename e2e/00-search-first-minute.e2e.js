/**
 * Search from minute one: on a fresh start, a demo service is found by name in the portal's search
 * within a minute of the app being up (the search freshness module re-indexes after ingestion
 * instead of waiting for the collators' 10-minute schedule). Runs first (file name) so the clock
 * is honest; scripts/test-all.js passes the moment the app answered as DEVPLANE_E2E_APP_READY_AT.
 */
const { APP_URL, signIn, screenshot, runTests, eventually } = require('./lib');

const readyAt = Number(process.env.DEVPLANE_E2E_APP_READY_AT) || Date.now();
const LIMIT_MS = 60_000;

runTests(__filename, [
  {
    name: 'a service is found by name within a minute of start',
    async fn({ page }) {
      await signIn(page);
      const result = page
        .getByRole('link', { name: 'payment-gateway', exact: true })
        .first();
      await eventually(
        async () => {
          await page.goto(`${APP_URL}/search?query=payment-gateway`);
          return result
            .waitFor({ timeout: 4_000 })
            .then(() => true)
            .catch(() => false);
        },
        {
          timeoutMs: Math.max(readyAt + LIMIT_MS - Date.now(), 5_000),
          intervalMs: 1_000,
          what: 'payment-gateway in the search results',
        },
      );
      const elapsed = Date.now() - readyAt;
      console.log(`  found after ${Math.round(elapsed / 1000)} s from app ready`);
      await screenshot(page, 'search-first-minute');
      if (elapsed > LIMIT_MS) {
        throw new Error(`found after ${Math.round(elapsed / 1000)} s, more than a minute`);
      }
      // it is the service (a Component), not only the group or system of the same name
      await page.getByText(/Accepts card and account-to-account payments/).first().waitFor();
    },
  },
]);
