/**
 * Smoke test: the portal opens, guest sign-in works, and a demo service read from its repository
 * on the local git host is in the catalog with the owner shuttle.yaml gives it.
 */
const { APP_URL, signIn, screenshot, runTests } = require('./lib');

runTests(__filename, [
  {
    name: 'guest signs in and finds a demo service in the catalog',
    async fn({ page }) {
      await signIn(page);
      await page.goto(`${APP_URL}/catalog`);
      const link = page.getByRole('link', { name: 'payment-gateway' });
      // the catalog ingests the demo repos asynchronously after the first start
      for (
        let i = 0;
        i < 12 && !(await link.isVisible().catch(() => false));
        i++
      ) {
        await page.waitForTimeout(5000);
        await page.reload();
      }
      await link.waitFor({ timeout: 30_000 });
      await screenshot(page, 'catalog');
      await link.click();
      await page
        .getByText('Accepts card and account-to-account payments')
        .first()
        .waitFor({ timeout: 30_000 });
      await screenshot(page, 'service-page');
    },
  },
]);
