/**
 * On-call end to end: on a demo service's page, see who is on call, trigger an incident with a
 * description, get its id and status back, see it listed as open, acknowledge and resolve it.
 */
const { execFileSync } = require('node:child_process');
const nodePath = require('node:path');
const {
  APP_URL,
  BACKEND_URL,
  signIn,
  screenshot,
  runTests,
  eventually,
  guestHeaders,
  waitForEntity,
} = require('./lib');

/*
 * While a service has an open incident its production is frozen: the release manager refuses a prod
 * release, the incident dialog lists the last prod releases to roll back to, and an explicit override
 * with a reason goes through and is recorded in the release commit.
 */

const freezeTest = {
  name: 'an open incident freezes production until someone overrides with a reason',
  async fn({ page }) {
    const service = 'credit-score';
    const headers = await guestHeaders();
    const rm = (p, init) =>
      fetch(`${BACKEND_URL}/api/release-manager${p}`, { headers, ...init });
    await eventually(
      async () =>
        (
          await (await rm(`/services/${service}/status`)).json()
        ).find?.(e => e.environment === 'prod')?.release,
      {
        timeoutMs: 120_000,
        what: 'the demo seed to release credit-score to prod',
      },
    );
    const trigger = await fetch(
      `${BACKEND_URL}/api/oncall/entities/component/default/${service}/incidents`,
      {
        method: 'POST',
        headers,
        body: JSON.stringify({
          description: 'scores time out (freeze e2e)',
          severity: 'critical',
        }),
      },
    );
    if (trigger.status !== 201 && trigger.status !== 200)
      throw new Error(`trigger answered ${trigger.status}`);
    const incidentId = (await trigger.json()).incident.id;

    const artifacts = (
      await (await rm(`/services/${service}/artifacts?limit=50`)).json()
    ).items;
    const prodNow = (
      await (await rm(`/services/${service}/status`)).json()
    ).find(e => e.environment === 'prod').release.artifactId;
    const candidate = artifacts.find(
      a =>
        /^(master|main)$/.test(a.branch) &&
        a.id !== prodNow &&
        a.environments.includes('prod'),
    );
    if (!candidate)
      throw new Error('no second main artifact to release to prod');
    const refused = await rm('/releases', {
      method: 'POST',
      body: JSON.stringify({
        service,
        environment: 'prod',
        artifactId: candidate.id,
      }),
    });
    const refusedBody = await refused.json();
    if (refused.status !== 409 || !/frozen/.test(refusedBody.error.message)) {
      throw new Error(
        `expected a 409 freeze refusal, got ${refused.status} ${JSON.stringify(
          refusedBody,
        )}`,
      );
    }

    await waitForEntity('component', service);
    await signIn(page, `/catalog/default/component/${service}`);
    await page.getByRole('button', { name: /trigger incident/i }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('running').first().waitFor({ timeout: 30_000 });
    await screenshot(page, 'oncall-dialog-prod-releases');
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    const override = await rm('/releases', {
      method: 'POST',
      body: JSON.stringify({
        service,
        environment: 'prod',
        artifactId: candidate.id,
        overrideFreeze: { reason: 'hotfix for the incident' },
      }),
    });
    if (override.status !== 200)
      throw new Error(
        `override answered ${override.status}: ${await override.text()}`,
      );
    const configRepo = nodePath.join(
      process.env.DEVPLANE_DATA_DIR ||
        nodePath.resolve(__dirname, '..', '.data'),
      'git',
      'config.git',
    );
    const last = execFileSync(
      'git',
      ['log', '-1', '--format=%B', 'main', '--', `prod/releases`],
      { cwd: configRepo, encoding: 'utf8' },
    );
    if (!/Freeze-override: hotfix for the incident/.test(last))
      throw new Error(`override not recorded in the commit:\n${last}`);

    for (const action of ['acknowledge', 'resolve']) {
      const r = await fetch(
        `${BACKEND_URL}/api/oncall/incidents/${encodeURIComponent(
          incidentId,
        )}/${action}`,
        { method: 'POST', headers, body: '{}' },
      );
      if (!r.ok) throw new Error(`${action} answered ${r.status}`);
    }
  },
};

runTests(__filename, [
  {
    name: 'trigger, acknowledge and resolve an incident from the service page',
    async fn({ page }) {
      await waitForEntity('component', 'ledger');
      await signIn(page, `/catalog/default/component/ledger`);
      await eventually(
        () =>
          page.getByText('ON CALL NOW', { exact: false }).first().isVisible(),
        {
          timeoutMs: 120_000,
          what: 'the on-call card with the person on call',
          intervalMs: 2000,
        },
      );
      const description = `ledger balances lag behind (${Date.now()})`;
      await page.getByRole('button', { name: /trigger incident/i }).click();
      const dialog = page.getByRole('dialog');
      await dialog
        .getByRole('textbox', { name: 'description' })
        .fill(description);
      await dialog
        .getByRole('button', { name: 'Trigger', exact: true })
        .click();
      const success = dialog.getByText(/Incident .* is triggered/);
      await success.waitFor({ timeout: 30_000 });
      await screenshot(page, 'oncall-triggered');
      await dialog.getByRole('button', { name: 'Close' }).click();
      const row = page.getByRole('listitem').filter({ hasText: description });
      await row.waitFor({ timeout: 30_000 });
      await row.getByRole('button', { name: /acknowledge/i }).click();
      await row.getByText('acknowledged', { exact: true }).waitFor({ timeout: 30_000 });
      await row.getByRole('button', { name: /resolve/i }).click();
      await page
        .getByRole('listitem')
        .filter({ hasText: description })
        .waitFor({ state: 'detached', timeout: 30_000 });
      await screenshot(page, 'oncall-resolved');
    },
  },
  freezeTest,
]);
