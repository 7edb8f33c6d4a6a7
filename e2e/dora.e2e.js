/**
 * The DORA chart of a service's Releases tab with a known history (issue 14 "the DORA chart
 * renders with the fixture's expected numbers"). A dedicated service, new on every run, so that
 * nothing but this test writes its history:
 *  - its source repository on the running app's git host (three commits on main) and its catalog
 *    entity (registered through the catalog API; owner payments);
 *  - through the real REST API, with the demo identities and the demo config (prod requires four
 *    eyes): Anna uploads three builds and asks to release each to prod, Mikkel approves each; then
 *    Anna asks to roll prod back to the second build, Mikkel approves.
 * Hand-computed over the 30-day window: 3 production deployments (the rollback is not one), the
 * third rolled back within the failure window → 1 failed of 3, change failure rate 33.3 %, one
 * restore (by rollback), no incidents. The page must show exactly that, tiles and chart bars.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const {
  APP_URL,
  BACKEND_URL,
  backendApi,
  configRepoDir,
  eventually,
  releaseApi,
  runTests,
  screenshot,
  signIn,
  waitForEntity,
} = require('./lib');

const SERVICE = `dora-fixture-${Date.now().toString(36)}`;
const REQUESTER = 'anna.jensen';
const APPROVER = 'mikkel.holm';

const git = (cwd, args) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

/**
 * The service's source repository on the app's git host (a bare repository next to the config
 * repo, which is where the host keeps its repositories), with `n` commits on main; returns their
 * shas, oldest first.
 */
function sourceRepo(n) {
  const bare = path.join(path.dirname(configRepoDir()), `${SERVICE}.git`);
  git(path.dirname(bare), ['init', '--bare', '--initial-branch=main', bare]);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dora-fixture-'));
  try {
    git(work, ['init', '--initial-branch=main']);
    const id = ['-c', 'user.name=Dora Fixture', '-c', 'user.email=dora.fixture@bank.example'];
    fs.writeFileSync(
      path.join(work, 'catalog-info.yaml'),
      `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${SERVICE}
  description: DORA browser test fixture (e2e/dora.e2e.js)
spec:
  type: service
  lifecycle: experimental
  owner: group:default/payments
`,
    );
    const shas = [];
    for (let i = 1; i <= n; i++) {
      fs.writeFileSync(path.join(work, 'VERSION'), `${i}\n`);
      git(work, ['add', '.']);
      git(work, [...id, 'commit', '-q', '-m', `build ${i}`]);
      shas.push(git(work, ['rev-parse', 'HEAD']));
    }
    git(work, ['push', '-q', bare, 'main']);
    return shas;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function artifact(sha, i) {
  const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${SERVICE}
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: app
          image: registry.example/${SERVICE}:${sha.slice(0, 12)}
`;
  return {
    spec: {
      id: `main-${sha.slice(0, 10)}-${'d'.repeat(10)}`,
      service: SERVICE,
      namespace: 'payments',
      squad: 'payments',
      application: {
        branch: 'main',
        sha,
        authorName: 'Dora Fixture',
        authorEmail: 'dora.fixture@bank.example',
        message: `build ${i}`,
        name: SERVICE,
      },
    },
    manifests: { prod: { 'deployment.yaml': deployment } },
  };
}

/** Anna asks (202, a pending request), Mikkel approves (200, written). */
async function fourEyes(route, body) {
  const asked = await releaseApi(route, { as: REQUESTER, method: 'POST', body: JSON.stringify(body) });
  if (!asked.approval?.id) throw new Error(`${route} did not become a request: ${JSON.stringify(asked).slice(0, 300)}`);
  const done = await releaseApi(`/approvals/${asked.approval.id}/approve`, {
    as: APPROVER,
    method: 'POST',
    body: JSON.stringify({}),
  });
  if (!done.changed) throw new Error(`approving ${route} wrote nothing: ${JSON.stringify(done).slice(0, 300)}`);
  return done;
}

runTests(__filename, [
  {
    name: 'a known history (3 prod releases, 1 rollback) shows 3 deployments and 33.3 % change failure rate',
    async fn({ page }) {
      const shas = sourceRepo(3);
      const location = await backendApi('catalog', '/locations', {
        method: 'POST',
        body: JSON.stringify({
          type: 'url',
          target: `${BACKEND_URL}/api/git-host/repos/${SERVICE}/blob/main/catalog-info.yaml`,
        }),
      });
      if (!location.location) throw new Error(`catalog location not registered: ${JSON.stringify(location)}`);
      await waitForEntity('component', SERVICE);

      const ids = [];
      for (const [i, sha] of shas.entries()) {
        const up = await releaseApi('/artifacts', {
          as: REQUESTER,
          method: 'POST',
          body: JSON.stringify(artifact(sha, i + 1)),
        });
        ids.push(up.artifact.id);
      }
      for (const id of ids) await fourEyes('/releases', { service: SERVICE, environment: 'prod', artifactId: id });
      await fourEyes('/rollbacks', { service: SERVICE, environment: 'prod', artifactId: ids[1] });
      const prod = (await releaseApi(`/services/${SERVICE}/status`)).find(e => e.environment === 'prod');
      if (prod?.release?.artifactId !== ids[1]) throw new Error(`prod runs ${prod?.release?.artifactId}, expected ${ids[1]}`);

      // the API's own report first (the page shows it; a wrong number here is the server's)
      const report = await releaseApi(`/dora?service=${SERVICE}&days=30`);
      const m = report.metrics;
      const got = [m.deploymentFrequency.deployments, m.changeFailureRate.failed, m.changeFailureRate.byRollback, m.timeToRestore.count];
      if (JSON.stringify(got) !== JSON.stringify([3, 1, 1, 1]))
        throw new Error(`API: deployments/failed/byRollback/restores ${got}, expected 3,1,1,1`);

      page.setDefaultNavigationTimeout(180_000);
      await signIn(page, `/catalog/default/component/${SERVICE}/releases`);
      const deployments = page.getByTestId('dora-deployments');
      await deployments.waitFor({ timeout: 120_000 });
      const tiles = {
        deployments: (await deployments.innerText()).trim(),
        cfr: (await page.getByTestId('dora-change-failure-rate').innerText()).trim(),
        cfrDetail: (await page.getByTestId('dora-change-failure-rate-detail').innerText()).trim(),
        restoreDetail: (await page.getByTestId('dora-time-to-restore-detail').innerText()).trim(),
      };
      const expected = {
        deployments: '3',
        cfr: '33.3%',
        cfrDetail: '1 of 3 (1 rolled back, 0 incident)',
        restoreDetail: /· 1 restored$/,
      };
      for (const [k, want] of Object.entries(expected)) {
        const ok = want instanceof RegExp ? want.test(tiles[k]) : tiles[k] === want;
        if (!ok) throw new Error(`${k}: the page shows '${tiles[k]}', expected ${want}`);
      }
      // the chart: the bars' titles ("<day>: N deployments, M failed") add up to the same numbers
      const chart = page.getByTestId('dora-chart');
      const titles = await chart.locator('[data-testid^="dora-bar-"] title').allTextContents();
      let deployed = 0;
      let failed = 0;
      for (const t of titles) {
        const m2 = /: (\d+) deployments?, (\d+) failed$/.exec(t);
        if (!m2) throw new Error(`unexpected bar title '${t}'`);
        deployed += Number(m2[1]);
        failed += Number(m2[2]);
      }
      if (deployed !== 3 || failed !== 1)
        throw new Error(`the chart's bars show ${deployed} deployments, ${failed} failed; expected 3 and 1 (${titles.join(' | ')})`);
      await chart.scrollIntoViewIfNeeded();
      await screenshot(page, 'dora-fixture');
    },
  },
]);
