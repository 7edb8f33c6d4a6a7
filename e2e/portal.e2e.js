/**
 * The new joiner's portal: TechDocs of a service and the "Start here" handbook render; each API kind
 * (OpenAPI, gRPC, GraphQL, AsyncAPI) renders on its API page; the service overview shows release
 * health and on-call above the fold; the squad page shows its services' health; "View source" opens
 * the portal's repository browser with the README rendered.
 */
const {
  APP_URL,
  BACKEND_URL,
  signIn,
  screenshot,
  runTests,
  waitForEntity,
  eventually,
} = require('./lib');

/** True when the element's top edge is inside the first screen (no scrolling). */
async function aboveTheFold(page, locator) {
  const box = await locator.boundingBox();
  const viewport = page.viewportSize();
  return Boolean(box && viewport && box.y >= 0 && box.y < viewport.height);
}

/** Signs in on a TechDocs page and waits until mkdocs' rendered content (not an error) is shown. */
async function openDocs(page, path, heading) {
  await signIn(page, `/docs/default/component/${path}`);
  // the first visit may build the docs (local generator): allow for it
  await page
    .getByRole('heading', { name: heading })
    .first()
    .waitFor({ timeout: 150_000 });
  // (the docs render in a shadow root with its own body: read the page's)
  const body = await page.locator('body').first().innerText();
  if (/TAR_BAD_ARCHIVE|failed to build|Building a newer version of this documentation failed/i.test(body)) {
    throw new Error(`the docs page shows a build error: ${body.slice(0, 300)}`);
  }
}

runTests(__filename, [
  {
    name: "a service's TechDocs render",
    async fn({ page }) {
      // a loaded 2-core machine (other apps building) needs more than the 30 s default
      page.setDefaultNavigationTimeout(120_000);
      await waitForEntity('component', 'payment-gateway');
      await openDocs(page, 'payment-gateway/operations/', 'Operating payment-gateway');
      await page.getByText('Production freeze').first().waitFor();
      await screenshot(page, 'techdocs-service');
    },
  },
  {
    name: 'the Start here onboarding guide renders',
    async fn({ page }) {
      // a loaded 2-core machine (other apps building) needs more than the 30 s default
      page.setDefaultNavigationTimeout(120_000);
      await waitForEntity('component', 'handbook');
      await openDocs(page, 'handbook/', 'Start here');
      await page.getByRole('link', { name: 'How we ship' }).first().click();
      await page.getByRole('heading', { name: 'The release manager' }).first().waitFor({ timeout: 30_000 });
      await screenshot(page, 'techdocs-start-here');
    },
  },
  ...[
    { api: 'payments-api', kind: 'OpenAPI', expect: /Initiate a payment/ },
    { api: 'release-manager-api', kind: 'OpenAPI (served by the release manager)', expect: /\/artifacts/ },
    { api: 'oncall-api', kind: 'OpenAPI (served by on-call)', expect: /Trigger an incident/ },
    { api: 'ledger-grpc', kind: 'gRPC', expect: /rpc PostTransfer/ },
    { api: 'credit-score-graphql', kind: 'GraphQL', expect: /creditScore|CreditScore/ },
    { api: 'payment-events', kind: 'AsyncAPI', expect: /payments\.settled\.v1/ },
  ].map(({ api, kind, expect }) => ({
    name: `the ${kind} API ${api} renders its definition`,
    async fn({ page }) {
      // a loaded 2-core machine (other apps building) needs more than the 30 s default
      page.setDefaultNavigationTimeout(120_000);
      await waitForEntity('api', api);
      await signIn(page, `/catalog/default/api/${api}/definition`);
      await page.getByText(expect).first().waitFor({ timeout: 60_000 });
      await screenshot(page, `api-${api}`);
    },
  })),
  {
    name: 'the service overview shows release health and on-call above the fold',
    async fn({ page }) {
      // a loaded 2-core machine (other apps building) needs more than the 30 s default
      page.setDefaultNavigationTimeout(120_000);
      await waitForEntity('component', 'payment-gateway');
      await signIn(page, `/catalog/default/component/payment-gateway`);
      const health = page.getByTestId('release-health-card');
      await health.waitFor({ timeout: 60_000 });
      // every environment with what runs there and a rollout state
      for (const env of ['dev', 'staging', 'prod']) {
        await page.getByTestId(`health-${env}`).waitFor({ timeout: 60_000 });
      }
      await eventually(
        async () => /rollout (succeeded|progressing|failed|pending)/.test(
          (await page.getByTestId('health-prod').innerHTML()) ?? '',
        ),
        { timeoutMs: 30_000, what: 'a rollout state for prod' },
      );
      const trigger = page.getByRole('button', { name: /trigger/i }).first();
      await trigger.waitFor({ timeout: 60_000 });
      const lastChanges = page.getByRole('list', { name: 'last changes' });
      await lastChanges.waitFor();
      for (const [what, loc] of [
        ['release health', health],
        ['on-call trigger button', trigger],
        ['owner (About card)', page.getByText('Owner', { exact: true }).first()],
      ]) {
        if (!(await aboveTheFold(page, loc))) throw new Error(`${what} is not above the fold`);
      }
      await page.screenshot({ path: require('node:path').join(__dirname, '..', '.e2e', 'screenshots', 'overview-above-the-fold.png') });
      console.log('  screenshot: .e2e/screenshots/overview-above-the-fold.png');
      // no empty default cards on a service without resources or subcomponents
      const body = await page.locator('main').innerText();
      for (const empty of ['No resource is part of this', 'No subcomponents', 'Has subcomponents', 'Depends on resources']) {
        if (body.includes(empty)) throw new Error(`an empty default card is shown: "${empty}"`);
      }
      await screenshot(page, 'overview-full');
    },
  },
  {
    name: "the squad page shows its services' health",
    async fn({ page }) {
      // a loaded 2-core machine (other apps building) needs more than the 30 s default
      page.setDefaultNavigationTimeout(120_000);
      await waitForEntity('component', 'ledger');
      await signIn(page, `/catalog/default/group/payments`);
      await page.getByTestId('squad-health-card').waitFor({ timeout: 60_000 });
      await page.getByTestId('squad-service-payment-gateway').waitFor({ timeout: 60_000 });
      await page.getByTestId('squad-service-ledger').waitFor();
      await eventually(
        async () => /rollout /.test(await page.getByTestId('squad-service-ledger').innerHTML()),
        { timeoutMs: 30_000, what: "ledger's rollout health" },
      );
      await screenshot(page, 'squad-health');
    },
  },
  {
    name: 'View source opens the repository browser with the README rendered and files readable',
    async fn({ page }) {
      // a loaded 2-core machine (other apps building) needs more than the 30 s default
      page.setDefaultNavigationTimeout(120_000);
      await waitForEntity('component', 'payment-gateway');
      await signIn(page);
      // the browse URL the catalog links to; a browser is sent to the portal's repository browser
      await page.goto(`${BACKEND_URL}/api/git-host/repos/payment-gateway/blob/main/`);
      await page.waitForURL(`${APP_URL}/git-host/payment-gateway/tree/main`, { timeout: 30_000 });
      await page.getByTestId('readme').getByRole('heading', { name: 'payment-gateway' }).waitFor({ timeout: 30_000 });
      await page.getByRole('link', { name: 'k8s', exact: true }).click();
      await page.getByRole('link', { name: 'deployment.yaml' }).click();
      await page.getByTestId('file-content').getByText(/kind: Deployment/).waitFor({ timeout: 30_000 });
      await screenshot(page, 'repo-browser');
    },
  },
]);
