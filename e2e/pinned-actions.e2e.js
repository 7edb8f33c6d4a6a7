/**
 * Pinned actions: the promote dialog sends exactly what it showed. Open "Promote staging to prod",
 * let another release change staging meanwhile (through the API, as CI or a colleague would),
 * click Promote → a clear "changed since you looked" message, and nothing is written (prod's
 * commit and artifact are unchanged).
 */
const {
  APP_URL,
  signIn,
  screenshot,
  runTests,
  eventually,
  releaseApi,
  waitForEntity,
} = require('./lib');

const SERVICE = 'ledger';

const api = releaseApi;

const envStatus = async env =>
  (await api(`/services/${SERVICE}/status`)).find(e => e.environment === env);

runTests(__filename, [
  {
    name: 'promote dialog: staging changes while it is open → "changed since you looked", nothing written',
    async fn({ page }) {
      await eventually(async () => (await envStatus('staging'))?.release?.artifactId, {
        timeoutMs: 120_000,
        what: 'the demo seed to release to staging',
      });
      await waitForEntity('component', SERVICE);
      await signIn(page, `/catalog/default/component/${SERVICE}/releases`);
      await page.getByTestId('env-card-staging').waitFor({ timeout: 120_000 });

      const shown = (await envStatus('staging')).release.artifactId;
      await page.getByTestId('promote-staging-to-prod').click();
      const dialog = page.getByTestId('release-dialog');
      // the dialog has made its diff (the confirm button waits for it)
      await dialog.getByTestId('release-dialog-diff').waitFor();
      await eventually(
        async () => {
          if (!(await page.getByTestId('release-dialog-confirm').isEnabled())) throw new Error('confirm disabled');
          return true;
        },
        { timeoutMs: 60_000, what: 'the dialog to load its diff and verdict' },
      );
      await screenshot(page, 'pinned-promote-open');

      // Meanwhile someone else releases another artifact to staging.
      const artifacts = (await api(`/services/${SERVICE}/artifacts?limit=50`)).items;
      const other = artifacts.find(a => a.id !== shown && a.environments.includes('staging'));
      if (!other) throw new Error('the demo seed has no second artifact for staging');
      await api('/releases', {
        method: 'POST',
        body: JSON.stringify({ service: SERVICE, environment: 'staging', artifactId: other.id }),
      });
      const prodBefore = await envStatus('prod');

      await page.getByTestId('release-dialog-confirm').click();
      const error = page.getByTestId('release-dialog-error');
      await error.waitFor({ timeout: 60_000 });
      const text = await error.innerText();
      await screenshot(page, 'pinned-promote-changed');
      if (!/changed since you looked/i.test(text) || !text.includes(other.id)) {
        throw new Error(`expected "changed since you looked" naming ${other.id}, got: ${text}`);
      }
      const prodAfter = await envStatus('prod');
      if (prodAfter.commit !== prodBefore.commit || prodAfter.release?.artifactId !== prodBefore.release?.artifactId) {
        throw new Error(
          `prod changed despite the refusal: ${prodBefore.commit} → ${prodAfter.commit}, ${prodBefore.release?.artifactId} → ${prodAfter.release?.artifactId}`,
        );
      }
      if ((await envStatus('prod')).release?.artifactId === other.id) {
        throw new Error('the artifact released to staging meanwhile reached prod');
      }
    },
  },
]);
