/**
 * The owner rule, seen from both sides with the demo identities of the sign-in page:
 *  - a lending developer (Sofie Larsen) opens payment-gateway's Releases tab: "promote staging to
 *    prod" is disabled with the reason next to it, and the server refuses her token too (403);
 *    prod is unchanged;
 *  - a payments developer (Anna Jensen, payments owns payment-gateway) may promote staging to prod:
 *    prod requires four eyes, so it becomes a pending request (e2e/approvals.e2e.js approves one).
 * Both go through the real permission policy and the real catalog of the running app.
 */
const {
  APP_URL,
  screenshot,
  runTests,
  eventually,
  releaseApi,
  runningArtifact,
  signInAs,
  waitForEntity,
} = require('./lib');

const SERVICE = 'payment-gateway';

const status = env => runningArtifact(SERVICE, env);

/** Picks a demo identity on the sign-in page and opens the Releases tab. */
async function openReleasesAs(page, title) {
  await waitForEntity('component', SERVICE);
  await signInAs(page, title, `/catalog/default/component/${SERVICE}/releases`);
  await page.getByTestId('env-card-prod').waitFor({ timeout: 120_000 });
}

runTests(__filename, [
  {
    name: 'a lending developer is refused a prod promotion of payment-gateway, with the reason',
    async fn({ page }) {
      // the demo seed releases every service on first start (minutes on a loaded machine)
      await eventually(() => status('staging'), { timeoutMs: 420_000, intervalMs: 3000, what: 'the demo seed in staging' });
      await eventually(() => status('prod'), { timeoutMs: 300_000, intervalMs: 3000, what: 'the demo seed in prod' });
      await openReleasesAs(page, 'Lending developer');
      // the portal asks the policy before offering the action: the button is disabled and the
      // reason is shown next to it
      const blocked = page.getByTestId('promote-blocked-staging-to-prod');
      await blocked.waitFor({ timeout: 60_000 });
      const reason = await blocked.innerText();
      if (!/owners' permission/.test(reason)) throw new Error(`unexpected refusal reason: ${reason}`);
      if (await page.getByTestId('promote-staging-to-prod').isEnabled())
        throw new Error('the promote button is enabled for a non-owner');
      await screenshot(page, 'owner-rule-lending-refused');
      // the server refuses her whatever the browser shows
      const prodBefore = await status('prod');
      const res = await releaseApi('/promotions', {
        raw: true,
        as: 'sofie.larsen',
        method: 'POST',
        body: JSON.stringify({ service: SERVICE, fromEnvironment: 'staging', toEnvironment: 'prod' }),
      });
      const body = await res.json().catch(() => ({}));
      if (res.status !== 403)
        throw new Error(`server answered ${res.status} to a non-owner's prod promotion: ${JSON.stringify(body)}`);
      if ((await status('prod')) !== prodBefore) throw new Error('prod changed after a refused promotion');
    },
  },
  {
    // prod requires four eyes in the demo (app-config.yaml requireApproval): the owner's promotion
    // is allowed and becomes a pending request; e2e/approvals.e2e.js has a second person approve one.
    name: 'a payments developer may promote payment-gateway to prod: it waits for a second person',
    async fn({ page }) {
      const prodBefore = await status('prod');
      await openReleasesAs(page, 'Payments developer');
      await page.getByTestId('promote-staging-to-prod').click();
      const verdict = page.getByTestId('release-dialog-verdict');
      await verdict.getByText(/Allowed/).waitFor({ timeout: 30_000 });
      await page.getByTestId('release-dialog-needs-approval').waitFor({ timeout: 30_000 });
      await page.getByTestId('release-dialog-confirm').click();
      await page.getByTestId('release-dialog-pending').waitFor({ timeout: 60_000 });
      await screenshot(page, 'owner-rule-payments-requested');
      if ((await status('prod')) !== prodBefore) throw new Error('prod changed before anyone approved');
    },
  },
]);
