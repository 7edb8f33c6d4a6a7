/**
 * On-call end to end: on a demo service's page, see who is on call, trigger an incident with a
 * description, get its id and status back, see it listed as open, acknowledge and resolve it.
 */
const { APP_URL, signIn, screenshot, runTests, eventually } = require('./lib');

runTests(__filename, [
  {
    name: 'trigger, acknowledge and resolve an incident from the service page',
    async fn({ page }) {
      await signIn(page);
      await page.goto(`${APP_URL}/catalog/default/component/ledger`);
      await eventually(() => page.getByText('ON CALL NOW', { exact: false }).first().isVisible(), {
        timeoutMs: 120_000,
        what: 'the on-call card with the person on call',
        intervalMs: 2000,
      });
      const description = `ledger balances lag behind (${Date.now()})`;
      await page.getByRole('button', { name: /trigger incident/i }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByRole('textbox', { name: 'description' }).fill(description);
      await dialog.getByRole('button', { name: 'Trigger', exact: true }).click();
      const success = dialog.getByText(/Incident .* is triggered/);
      await success.waitFor({ timeout: 30_000 });
      await screenshot(page, 'oncall-triggered');
      await dialog.getByRole('button', { name: 'Close' }).click();
      const row = page.getByRole('listitem').filter({ hasText: description });
      await row.waitFor({ timeout: 30_000 });
      await row.getByRole('button', { name: /acknowledge/i }).click();
      await row.getByText('acknowledged').waitFor({ timeout: 30_000 });
      await row.getByRole('button', { name: /resolve/i }).click();
      await page.getByRole('listitem').filter({ hasText: description }).waitFor({ state: 'detached', timeout: 30_000 });
      await screenshot(page, 'oncall-resolved');
    },
  },
]);
