/**
 * Smoke test: the portal opens, guest sign-in works, and a demo service read from its repository
 * on the local git host is in the catalog with the owner shuttle.yaml gives it.
 */
const {
  APP_URL,
  signIn,
  screenshot,
  runTests,
  waitForEntity,
} = require('./lib');

runTests(__filename, [
  {
    name: 'guest signs in and finds a demo service in the catalog',
    async fn({ page }) {
      // the catalog ingests the demo repos asynchronously after the first start
      await waitForEntity('component', 'payment-gateway');
      // 'All', not the default 'Owned' (the guest's squad, platform, owns the handbook)
      await signIn(page, '/catalog?filters%5Bkind%5D=component&filters%5Buser%5D=all');
      const link = page.getByRole('link', { name: 'payment-gateway' });
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
