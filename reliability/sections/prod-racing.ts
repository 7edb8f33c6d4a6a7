// Racing against the PRODUCTION BUNDLE: two replicas started from the bundle scripts/prod-bundle.js
// installed outside the workspace, each `node packages/backend --config app-config.yaml
// --config app-config.production.yaml --config <local overlay>` with the production environment
// variables. Around them, what cannot run here stands in with the real wire contracts:
//   - the config repo on a remote reached over HTTP with a token (git's own `git http-backend`
//     behind the git host plugin's smart-HTTP handler, Basic x-access-token:<token> required);
//   - the OIDC identity provider (discovery, authorize with PKCE, token, JWKS, userinfo); the
//     promoting user signs in through Backstage's real OIDC flow and uses the token it hands out;
//   - CI: the external-access static token of app-config.production.yaml uploads the artifacts.
// PostgreSQL is the real one on 127.0.0.1:5432 (trust), under fresh database names.
// The local overlay only says what is particular to this machine: loopback ports, the database
// prefix, data directories, the test organisation as the catalog location, the environments.
/* eslint-disable no-console */
import { ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { assert, check, errorMessage, freshDatabase, PG_URL, request, sleep } from '../lib/harness';
import { demoEntities, writeCatalogOrg } from '../lib/backend';
import { sharedSigningKey } from '../lib/replicas';
import { startGitHttpRemote } from '../lib/gitHttpRemote';
import { oidcBrowserSignIn, StandInUser, startStandInIdp } from '../../packages/backend/src/__testUtils__/oidcStandIn';
import { initRemote, raceOn, signalAcrossReplicas } from './racing';

const S = 'prod-bundle racing';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

interface ProdReplica {
  url: string;
  dataDir: string;
  proc: ChildProcess;
  log: () => string;
  stop(): Promise<void>;
}

/** Starts one replica from the bundle; resolves when its readiness endpoint answers 200. */
async function startProdReplica(
  bundle: string,
  overlay: string,
  env: Record<string, string>,
  url: string,
  dataDir: string,
  timeoutMs = 240_000,
): Promise<ProdReplica> {
  const proc = spawn(
    process.execPath,
    ['packages/backend', '--config', 'app-config.yaml', '--config', 'app-config.production.yaml', '--config', overlay],
    { cwd: bundle, env: { ...process.env, ...env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const keep = (d: Buffer) => (out = (out + d).slice(-20_000));
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const replica: ProdReplica = {
    url,
    dataDir,
    proc,
    log: () => out,
    stop: () =>
      new Promise(res => {
        if (proc.exitCode !== null || proc.signalCode !== null) return res();
        proc.once('exit', () => res());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 15_000).unref();
      }),
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`replica exited with ${proc.exitCode}: ${out.slice(-3000)}`);
    const r = await request(url, 'GET', '/.backstage/health/v1/readiness', { timeoutMs: 2000 }).catch(() => undefined);
    if (r?.status === 200) return replica;
    if (Date.now() > deadline) {
      await replica.stop();
      throw new Error(`replica did not become ready in ${timeoutMs} ms: ${out.slice(-3000)}`);
    }
    await sleep(500);
  }
}

export async function prodRacing(options: { bundle: string; promotions: number; services: number; lockWaitMs?: number }) {
  const bundle = path.resolve(options.bundle);
  if (!existsSync(path.join(bundle, 'packages', 'backend', 'package.json'))) {
    throw new Error(`no production bundle in ${bundle}: node scripts/prod-bundle.js --out ${bundle}`);
  }
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'prod-race-'));
  const db = await freshDatabase('prod_race');
  const cleanup: (() => Promise<unknown>)[] = [() => db.drop(), () => fs.rm(work, { recursive: true, force: true })];
  const replicas: ProdReplica[] = [];
  try {
    const secret = () => crypto.randomBytes(24).toString('base64url');
    const tokens = { ci: secret(), agent: secret(), repo: secret(), oidc: secret() };

    const git = await startGitHttpRemote(path.join(work, 'git-server'), tokens.repo);
    cleanup.unshift(() => git.close());
    await initRemote(git.path('config'));

    let who: StandInUser = { sub: 'u-alice', email: 'alice@bank.example', name: 'Alice' };
    const idp = await startStandInIdp({ clientId: 'devplane', clientSecret: tokens.oidc, user: () => who });
    cleanup.unshift(() => idp.close());

    const services = Array.from({ length: options.services }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
    const catalogFile = writeCatalogOrg(work, demoEntities(services));
    const signingKey = (await sharedSigningKey(work)).privateKey;
    const pg = new URL(PG_URL);

    for (const name of ['a', 'b']) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const dataDir = path.join(work, `replica-${name}`);
      await fs.mkdir(dataDir, { recursive: true });
      // The local overlay: what is particular to this machine, nothing that production decides.
      const overlay = path.join(work, `app-config.local-${name}.yaml`);
      await fs.writeFile(
        overlay,
        toYaml({
          backend: {
            listen: { host: '127.0.0.1', port },
            // fresh database names: <prefix><pluginId>, dropped afterwards
            database: { prefix: db.prefix },
            cors: { origin: url },
          },
          catalog: { locations: [{ type: 'file', target: catalogFile }] },
          releaseManager: {
            environments: [
              { name: 'dev' },
              { name: 'staging' },
              // CI (the static token's subject) may upload artifacts with prod manifests
              { name: 'prod', production: true, guardrails: { uploaders: ['external:ci'] } },
            ],
            statusWebhook: { principals: ['external:cluster-agent'] },
            ...(options.lockWaitMs ? { configRepo: { lockWaitMs: options.lockWaitMs } } : {}),
          },
        }),
      );
      const env = {
        APP_BASE_URL: url,
        BACKEND_BASE_URL: url,
        POSTGRES_HOST: pg.hostname,
        POSTGRES_PORT: pg.port || '5432',
        POSTGRES_USER: decodeURIComponent(pg.username || 'postgres'),
        ...(pg.password ? { POSTGRES_PASSWORD: decodeURIComponent(pg.password) } : {}),
        RELEASE_MANAGER_CONFIG_REPO_URL: git.url('config'),
        RELEASE_MANAGER_CONFIG_REPO_TOKEN: tokens.repo,
        RELEASE_MANAGER_SIGNING_KEY: signingKey,
        CI_TOKEN: tokens.ci,
        CLUSTER_AGENT_TOKEN: tokens.agent,
        OIDC_METADATA_URL: idp.metadataUrl,
        OIDC_CLIENT_ID: 'devplane',
        OIDC_CLIENT_SECRET: tokens.oidc,
        DEVPLANE_DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
      };
      // One after the other: two first starts at once race on knex's migration lock tables.
      const t0 = Date.now();
      replicas.push(await startProdReplica(bundle, overlay, env, url, dataDir));
      console.log(`  replica ${name} ready at ${url} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
    const [a, b] = replicas;
    const CI = `Bearer ${tokens.ci}`;

    // The catalog ingests the organisation asynchronously (both replicas share its database).
    await check(S, 'the catalog of the production bundle ingests the organisation (read with the CI token)', async () => {
      const last = services[services.length - 1];
      for (const deadline = Date.now() + 110_000; ; ) {
        assert(Date.now() < deadline, 'not ingested within 110 s');
        const r = await request(a.url, 'GET', `/api/catalog/entities/by-name/component/default/${last}`, { auth: CI });
        const u = await request(a.url, 'GET', '/api/catalog/entities/by-name/user/default/alice', { auth: CI });
        if (r.status === 200 && (r.json?.relations?.length ?? 0) > 0 && (u.json?.relations?.length ?? 0) > 0) return;
        await sleep(1000);
      }
    }, 120_000);

    let aliceToken = '';
    await check(S, 'alice signs in through OIDC (stand-in IdP) on replica A; replica B accepts the token', async () => {
      who = { sub: 'u-alice', email: 'alice@bank.example', name: 'Alice' };
      const { response } = await oidcBrowserSignIn(a.url);
      const identity = response?.response?.backstageIdentity;
      assert(identity?.identity?.userEntityRef === 'user:default/alice', `sign-in answered ${JSON.stringify(response).slice(0, 300)}`);
      aliceToken = identity.token;
      const onB = await request(b.url, 'GET', '/api/release-manager/environments', { auth: `Bearer ${aliceToken}` });
      assert(onB.status === 200, `replica B: ${onB.status} ${errorMessage(onB)}`);
      return `IdP calls: ${[...new Set(idp.calls)].join(', ')}`;
    });
    assert(aliceToken, 'no user token: the racing cannot run');

    await check(S, 'someone the IdP knows but the catalog does not is refused sign-in', async () => {
      who = { sub: 'u-x', email: 'mallory@elsewhere.example', name: 'Mallory' };
      const { response } = await oidcBrowserSignIn(b.url);
      assert(!response?.response?.backstageIdentity && response?.error, `signed in: ${JSON.stringify(response).slice(0, 300)}`);
      return String(response.error?.message ?? '').slice(0, 120);
    });

    await check(S, 'the config remote refuses a fetch without its token', async () => {
      const r = await fetch(`${git.url('config')}/info/refs?service=git-upload-pack`);
      assert(r.status === 401, `answered ${r.status}`);
    });

    await signalAcrossReplicas(S, a, b, `Bearer ${aliceToken}`, CI);

    const race = await raceOn(S, {
      a,
      b,
      remote: git.path('config'),
      committerDir: path.join(work, 'outsider'),
      rmDb: db.knexFor(`${db.prefix}release-manager`),
      releaseAuth: `Bearer ${aliceToken}`,
      uploadAuth: CI,
      services: options.services,
      promotions: options.promotions,
      dataDirs: replicas.map(r => r.dataDir),
      extraBlobs: 1, // the signal check's artifact
    });
    console.log(
      `  config remote over HTTP: ${git.counts.fetches} fetches, ${git.counts.pushes} pushes, ${git.counts.refused} refused without token; answers ${JSON.stringify(race.statuses)}`,
    );
  } catch (e) {
    for (const r of replicas) console.log(`--- replica ${r.url} log tail:\n${r.log().slice(-2000)}`);
    throw e;
  } finally {
    await Promise.all(replicas.map(r => r.stop()));
    for (const c of cleanup) await c().catch(() => undefined);
  }
}
