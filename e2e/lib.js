/* eslint-disable no-console */
/**
 * Small harness for browser tests: Playwright (playwright-core) driving the machine's Chromium
 * against the running app. Each `*.e2e.js` file calls `runTests(file, tests)`, which writes
 * `.e2e/<file>.json` with its pass/fail counts and saves screenshots under `.e2e/screenshots/`.
 */
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const SHOTS = path.join(ROOT, '.e2e', 'screenshots');
const APP_URL = process.env.APP_URL || 'http://localhost:3000';
const BACKEND_URL = process.env.BACKEND_URL || 'http://localhost:7007';

async function waitForApp({ timeoutMs = 180_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const [fe, be] = await Promise.all([
        fetch(APP_URL).then(r => r.status),
        fetch(`${BACKEND_URL}/.backstage/health/v1/readiness`).then(
          r => r.status,
        ),
      ]);
      last = `frontend ${fe}, backend ${be}`;
      if (fe === 200 && be === 200) return;
    } catch (e) {
      last = e.cause?.code || e.message;
    }
    await new Promise(r => setTimeout(r, 2000));
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s (${last})`);
}

async function launch() {
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Opens the app at `path` (default the home page) and signs in as guest if the sign-in page shows;
 * the app then renders `path` itself. One full page load per test: opening the home page first
 * and then navigating again cost a second load of the whole frontend (docs/bench-and-reliability.md,
 * "CI time").
 */
async function signIn(page, path = '/') {
  await page.goto(`${APP_URL}${path}`, { timeout: 180_000 });
  const enter = page.getByRole('button', { name: 'Enter' });
  const catalogLink = page.getByRole('link', { name: 'Catalog', exact: true });
  await eventually(
    async () => {
      if (await enter.isVisible()) await enter.click();
      return catalogLink.first().isVisible();
    },
    {
      timeoutMs: 90_000,
      intervalMs: 500,
      what: 'the signed-in portal (sidebar Catalog link)',
    },
  );
}

/** A Backstage token for the local guest user, for calling the REST APIs as the browser would. */
async function guestToken() {
  const res = await fetch(`${BACKEND_URL}/api/auth/guest/refresh`, {
    headers: { 'X-Requested-With': 'XMLHttpRequest' },
  });
  return (await res.json()).backstageIdentity.token;
}

/** JSON request headers carrying the guest's token. */
async function guestHeaders() {
  return {
    'content-type': 'application/json',
    authorization: `Bearer ${await guestToken()}`,
  };
}

/** A Backstage token of a demo identity (what the sign-in page gets for it, e.g. 'anna.jensen'). */
async function demoToken(user) {
  const res = await fetch(`${BACKEND_URL}/api/auth/demo/refresh`, {
    headers: {
      'X-Requested-With': 'XMLHttpRequest',
      'x-devplane-demo-user': user,
    },
  });
  if (!res.ok)
    throw new Error(
      `demo sign-in as ${user}: ${res.status} ${await res.text()}`,
    );
  return (await res.json()).backstageIdentity.token;
}

/**
 * Calls a plugin's REST API as the browser would: JSON, the guest's token (or a demo identity's
 * with `as: 'anna.jensen'`); throws with method, path, status and body unless `raw` is set, in
 * which case the Response is returned as is.
 */
async function backendApi(plugin, path, { as, raw, ...init } = {}) {
  const token = as ? await demoToken(as) : await guestToken();
  const res = await fetch(`${BACKEND_URL}/api/${plugin}${path}`, {
    ...init,
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      ...init.headers,
    },
  });
  if (raw) return res;
  const body = await res.json().catch(() => undefined);
  if (!res.ok)
    throw new Error(
      `${init.method || 'GET'} ${path}: ${res.status} ${JSON.stringify(body)}`,
    );
  return body;
}

/** The release manager's REST API (see backendApi). */
const releaseApi = (path, init) => backendApi('release-manager', path, init);

/** The artifact id running in an environment of a service, or undefined. */
async function runningArtifact(service, env, init) {
  const status = await releaseApi(`/services/${service}/status`, init);
  return status.find(e => e.environment === env)?.release?.artifactId;
}

/**
 * Opens the app at `path` (default the home page) and picks a demo identity on the sign-in page by
 * its button title ('Payments developer', 'Lending developer', …); waits for the signed-in sidebar.
 */
async function signInAs(page, title, path = '/') {
  await page.goto(`${APP_URL}${path}`, { timeout: 180_000 });
  await page
    .getByRole('button', { name: `Sign in as ${title}` })
    .click({ timeout: 90_000 });
  await page
    .getByRole('link', { name: 'Catalog', exact: true })
    .first()
    .waitFor({ timeout: 90_000 });
}

/**
 * Waits until the catalog serves an entity with an owner. The demo services are ingested
 * asynchronously after a fresh start (their owners come from shuttle.yaml once the squads' Groups
 * are in), so a test opens a page only when its entity is there.
 */
async function waitForEntity(kind, name, { timeoutMs = 240_000 } = {}) {
  const token = await guestToken();
  return eventually(
    async () => {
      const res = await fetch(
        `${BACKEND_URL}/api/catalog/entities/by-name/${kind}/default/${name}`,
        {
          headers: { authorization: `Bearer ${token}` },
        },
      );
      const entity = res.ok ? await res.json() : undefined;
      return entity?.spec?.owner ? entity : undefined;
    },
    {
      timeoutMs,
      intervalMs: 2000,
      what: `${kind}:default/${name} in the catalog`,
    },
  );
}

async function screenshot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`  screenshot: ${path.relative(ROOT, file)}`);
  return file;
}

/** The running app's GitOps config repo (bare, under DEVPLANE_DATA_DIR, default .data/). */
function configRepoDir() {
  return path.join(process.env.DEVPLANE_DATA_DIR || path.join(ROOT, '.data'), 'git', 'config.git');
}

/** Runs git in the config repo and returns its stdout: what the record says, read from git itself. */
function configRepoGit(args) {
  return require('node:child_process').execFileSync('git', args, {
    cwd: configRepoDir(),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
}

/** Polls `fn` until it returns a truthy value. */
async function eventually(
  fn,
  { timeoutMs = 60_000, intervalMs = 1000, what = 'condition' } = {},
) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    await new Promise(r => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out waiting for ${what}${lastErr ? `: ${lastErr.message}` : ''}`,
  );
}

/** Runs named tests in order with one browser; a failing test does not stop the others. */
async function runTests(file, tests) {
  const name = path.basename(file);
  const result = { passed: 0, failed: 0, tests: [] };
  const browser = await launch();
  try {
    for (const t of tests) {
      const context = await browser.newContext({
        viewport: { width: 1400, height: 1000 },
      });
      const page = await context.newPage();
      const t0 = Date.now();
      try {
        await t.fn({ page, context });
        result.passed++;
        result.tests.push({ name: t.name, ok: true });
        console.log(`  \u2713 ${t.name} (${Date.now() - t0} ms)`);
      } catch (e) {
        result.failed++;
        result.tests.push({
          name: t.name,
          ok: false,
          error: String(e.message || e),
        });
        console.log(`  \u2717 ${t.name}: ${e.message || e}`);
        await screenshot(
          page,
          `FAILED-${name}-${t.name.replace(/[^a-z0-9]+/gi, '-')}`,
        ).catch(() => {});
      } finally {
        await context.close();
      }
    }
  } finally {
    await browser.close();
  }
  fs.mkdirSync(path.join(ROOT, '.e2e'), { recursive: true });
  fs.writeFileSync(
    path.join(ROOT, '.e2e', `${name}.json`),
    JSON.stringify(result, null, 2),
  );
  process.exitCode = result.failed ? 1 : 0;
  return result;
}

module.exports = {
  demoToken,
  backendApi,
  releaseApi,
  runningArtifact,
  signInAs,
  waitForEntity,
  guestToken,
  guestHeaders,
  APP_URL,
  BACKEND_URL,
  waitForApp,
  launch,
  signIn,
  screenshot,
  eventually,
  runTests,
  configRepoDir,
  configRepoGit,
};
