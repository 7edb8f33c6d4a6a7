/**
 * Release manager end to end on a demo service:
 *  - promote what runs in dev to staging from the Releases tab and see staging change;
 *  - a release made elsewhere (the REST API, as CI or the CLI would) shows up without a reload (signals);
 *  - promoting the feature-branch artifact to prod is refused with the reason;
 *  - roll staging back to an earlier artifact.
 */
const {
  APP_URL,
  signIn,
  screenshot,
  runTests,
  eventually,
  releaseApi,
  runningArtifact,
  waitForEntity,
} = require('./lib');

const SERVICE = 'payment-gateway';

const api = releaseApi;
const running = env => runningArtifact(SERVICE, env);

async function openReleasesTab(page) {
  await waitForEntity('component', SERVICE);
  await signIn(page, `/catalog/default/component/${SERVICE}/releases`);
  await page.getByTestId('env-card-staging').waitFor({ timeout: 120_000 });
}

runTests(__filename, [
  {
    name: 'promote dev to staging from the Releases tab',
    async fn({ page }) {
      await eventually(() => running('dev'), {
        timeoutMs: 120_000,
        what: 'the demo seed to release to dev',
      });
      const devArtifact = await running('dev');
      await openReleasesTab(page);
      await screenshot(page, 'releases-tab');
      await page.getByTestId('promote-dev-to-staging').click();
      const dialog = page.getByTestId('release-dialog');
      await dialog.getByTestId('release-dialog-verdict').waitFor();
      await page.getByTestId('release-dialog-confirm').click();
      await page
        .getByTestId('release-dialog-commit')
        .waitFor({ timeout: 60_000 });
      await screenshot(page, 'releases-promoted');
      await page.getByTestId('release-dialog-close').click();
      await page
        .getByTestId('env-artifact-staging')
        .filter({ hasText: devArtifact })
        .waitFor({ timeout: 30_000 });
      if ((await running('staging')) !== devArtifact)
        throw new Error(
          'the backend does not report the promoted artifact in staging',
        );
    },
  },
  {
    name: 'a release made through the API appears without a reload',
    async fn({ page }) {
      await openReleasesTab(page);
      const artifacts = (await api(`/services/${SERVICE}/artifacts?limit=50`))
        .items;
      const current = await running('dev');
      const other = artifacts.find(
        a => a.id !== current && a.environments.includes('dev'),
      );
      if (!other)
        throw new Error('the demo seed has no second artifact for dev');
      await api('/releases', {
        method: 'POST',
        body: JSON.stringify({
          service: SERVICE,
          environment: 'dev',
          artifactId: other.id,
          reason: 'e2e live update', // "Key: value" would read as a commit trailer (refused)
        }),
      });
      await page
        .getByTestId('env-artifact-dev')
        .filter({ hasText: other.id })
        .waitFor({ timeout: 30_000 });
      await screenshot(page, 'releases-live-update');
    },
  },
  {
    name: 'promoting a feature-branch artifact to prod is refused with the reason',
    async fn({ page }) {
      await openReleasesTab(page);
      const feature = (
        await api(`/services/${SERVICE}/artifacts?limit=50`)
      ).items.find(
        a =>
          !/^(master|main)$/.test(a.branch) && a.environments.includes('prod'),
      );
      if (!feature)
        throw new Error('the demo seed has no feature-branch artifact');
      const blocked = page.getByTestId(`release-blocked-${feature.id}-prod`);
      await blocked.waitFor({ timeout: 30_000 });
      const reason = await blocked.innerText();
      if (!/master|main/.test(reason))
        throw new Error(`unexpected refusal reason: ${reason}`);
      const button = page.getByTestId(`release-action-${feature.id}-prod`);
      if (await button.isEnabled())
        throw new Error(
          'the prod release button is enabled for a feature branch',
        );
      // The server refuses too, whatever the browser shows.
      const res = await releaseApi('/releases', {
        raw: true,
        method: 'POST',
        body: JSON.stringify({
          service: SERVICE,
          environment: 'prod',
          artifactId: feature.id,
        }),
      });
      if (res.status < 400 || res.status >= 500)
        throw new Error(
          `server answered ${res.status} to a feature-branch prod release`,
        );
      await blocked.scrollIntoViewIfNeeded();
      await screenshot(page, 'releases-prod-refused');
    },
  },
  {
    name: 'roll staging back to an earlier artifact',
    async fn({ page }) {
      await openReleasesTab(page);
      const before = await running('staging');
      await page.getByTestId('rollback-staging').click();
      const dialog = page.getByTestId('rollback-dialog');
      await dialog.waitFor();
      const option = dialog
        .locator('[data-testid^="rollback-option-"]')
        .first();
      await option.waitFor({ timeout: 30_000 });
      const target = (await option.getAttribute('data-testid')).replace(
        'rollback-option-',
        '',
      );
      await option.click();
      await page.getByTestId('rollback-dialog-confirm').click();
      await page
        .getByTestId('rollback-dialog-result')
        .waitFor({ timeout: 60_000 });
      await screenshot(page, 'releases-rolled-back');
      const after = await running('staging');
      if (after === before || after !== target)
        throw new Error(
          `staging runs ${after}, expected rollback to ${target} (was ${before})`,
        );
    },
  },
]);
