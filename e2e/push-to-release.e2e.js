/**
 * The closed loop in the embedded default (issue 13): a `git push` to main of a demo service on the
 * local git host becomes an artifact, the auto-release policy (main → dev, set by the demo seed)
 * releases it, the Releases tab shows it in dev without a reload (signals), and the SIMULATED
 * cluster rolls it out to ready, labelled "simulated".
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const {
  APP_URL,
  BACKEND_URL,
  signIn,
  screenshot,
  runTests,
  eventually,
  releaseApi,
  guestToken,
  waitForEntity,
} = require('./lib');

const SERVICE = 'payment-gateway';

const api = releaseApi;

function git(args, cwd, env = {}) {
  return execFileSync('git', args, {
    cwd,
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...env },
    encoding: 'utf8',
  }).trim();
}

/** The simulated cluster's deterministic failure choice (plugins/release-manager-backend/src/simulation). */
function simulatedFailure(artifactId, environment, rate) {
  const h = crypto.createHash('sha1').update(`${environment}/${artifactId}`).digest();
  return h.readUInt32BE(0) / 0xffffffff < rate;
}

runTests(__filename, [
  {
    name: 'git push to main → new artifact in dev without reload → simulated rollout ready',
    async fn({ page }) {
      await waitForEntity('component', SERVICE);
      await eventually(async () => (await api(`/services/${SERVICE}/policies`)).autoReleases.some(p => p.branch === 'main' && p.environment === 'dev'), {
        timeoutMs: 120_000,
        what: 'the demo seed to set the main → dev auto-release policy',
      });
      await signIn(page, `/catalog/default/component/${SERVICE}/releases`);
      await page.getByTestId('env-card-dev').waitFor({ timeout: 120_000 });

      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-push-'));
      const token = await guestToken();
      const auth = ['-c', `http.extraHeader=Authorization: Bearer ${token}`];
      git([...auth, 'clone', '--quiet', `${BACKEND_URL}/api/git-host/repos/${SERVICE}.git`, work]);
      const shuttle = fs.readFileSync(path.join(work, 'shuttle.yaml'), 'utf8');
      const plan = /^plan:\s*'?([^'\n]+)'?/m.exec(shuttle)[1];
      const planSha = crypto.createHash('sha1').update(JSON.stringify(plan)).digest('hex');
      fs.appendFileSync(path.join(work, 'README.md'), `\nChanged by the push e2e test at ${new Date().toISOString()}\n`);
      git(['add', '.'], work);
      const who = { GIT_AUTHOR_NAME: 'Anna Jensen', GIT_AUTHOR_EMAIL: 'anna.jensen@demo-bank.example', GIT_COMMITTER_NAME: 'Anna Jensen', GIT_COMMITTER_EMAIL: 'anna.jensen@demo-bank.example' };
      git(['commit', '--quiet', '-m', 'Faster settlement (e2e)'], work, who);
      // Simulated failures are pseudo-random per artifact (failureRate 0.1): pick a commit the
      // simulator rolls out, so the test checks "ready" deterministically.
      let sha = git(['rev-parse', 'HEAD'], work);
      for (let i = 0; simulatedFailure(`main-${sha.slice(0, 10)}-${planSha.slice(0, 10)}`, 'dev', 0.1); i++) {
        git(['commit', '--quiet', '--amend', '-m', `Faster settlement (e2e, try ${i + 2})`], work, who);
        sha = git(['rev-parse', 'HEAD'], work);
      }
      const artifactId = `main-${sha.slice(0, 10)}-${planSha.slice(0, 10)}`;
      git([...auth, 'push', '--quiet', 'origin', 'main'], work);

      // the Releases tab updates by itself (no reload): the artifact in dev, the push's steps
      await page.getByTestId('env-artifact-dev').filter({ hasText: artifactId }).waitFor({ timeout: 30_000 });
      await page.getByTestId(`push-${sha.slice(0, 10)}`).getByTestId('push-step-release-dev-done').waitFor({ timeout: 30_000 });
      await screenshot(page, 'push-released-to-dev');
      // then the simulated cluster rolls it out, labelled as simulated
      await page.getByTestId('rollout-status-dev').filter({ hasText: 'succeeded' }).waitFor({ timeout: 90_000 });
      await page.getByTestId('rollout-status-dev-simulated').waitFor({ timeout: 5_000 });
      await screenshot(page, 'push-simulated-rollout-ready');
      const dev = (await api(`/services/${SERVICE}/status`)).find(s => s.environment === 'dev');
      if (dev.artifact.sha !== sha || dev.artifact.authorEmail !== 'anna.jensen@demo-bank.example') {
        throw new Error(`dev runs ${dev.artifact.id} by ${dev.artifact.authorEmail}, expected ${artifactId}`);
      }
      if (!dev.release.rollout.simulated) throw new Error('the rollout state is not marked simulated');
      fs.rmSync(work, { recursive: true, force: true });
    },
  },
]);
