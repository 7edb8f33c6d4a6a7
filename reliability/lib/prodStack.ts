// The PRODUCTION BUNDLE (scripts/prod-bundle.js, installed outside the workspace) started as N
// replicas, each `node packages/backend --config app-config.yaml --config app-config.production.yaml
// --config <local overlay>` with the production environment variables (docs/production.md).
// Around them, what cannot run here stands in with the real wire contracts:
//   - the config repo on a remote reached over HTTP with a token (git's own `git http-backend`
//     behind the git host plugin's smart-HTTP handler, Basic x-access-token:<token> required);
//   - the OIDC identity provider (discovery, authorize with PKCE, token, JWKS, userinfo): users sign
//     in through Backstage's real OIDC flow and use the token it hands out;
//   - CI and the cluster agent: the external-access static tokens of app-config.production.yaml.
// PostgreSQL is the real one on 127.0.0.1:5432 (trust), under fresh database names (dropped after).
// The local overlay says only what is particular to this machine: loopback ports, the database
// prefix, data directories, the test organisation as the catalog location, the environments.
// Used by reliability/sections/prod-racing.ts and bench/lib/prodBundleBench.ts.
import { ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { freshDatabase, PG_URL, request, sleep } from './harness';
import { demoEntities, writeCatalogOrg } from './backend';
import { sharedSigningKey } from './replicas';
import { startGitHttpRemote } from './gitHttpRemote';
import { initRemote } from '../sections/racing';
import { oidcBrowserSignIn, StandInUser, startStandInIdp } from '../../packages/backend/src/__testUtils__/oidcStandIn';

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

export interface ProdReplica {
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
  // Never outlive the runner (the suite's hard bound exits the process without the finally blocks).
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  proc.once('exit', () => process.off('exit', killOnExit));
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

export type ProdStack = Awaited<ReturnType<typeof startProdStack>>;

export async function startProdStack(options: {
  bundle: string;
  replicas: number;
  services: number;
  lockWaitMs?: number;
  log?: (line: string) => void;
}) {
  const bundle = path.resolve(options.bundle);
  if (!existsSync(path.join(bundle, 'packages', 'backend', 'package.json'))) {
    throw new Error(`no production bundle in ${bundle}: node scripts/prod-bundle.js --out ${bundle}`);
  }
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'prod-stack-'));
  const db = await freshDatabase('prod_stack');
  const cleanup: (() => Promise<unknown>)[] = [() => db.drop(), () => fs.rm(work, { recursive: true, force: true })];
  const replicas: ProdReplica[] = [];
  const stop = async () => {
    await Promise.all(replicas.map(r => r.stop()));
    for (const c of cleanup) await c().catch(() => undefined);
  };
  try {
    const secret = () => crypto.randomBytes(24).toString('base64url');
    const tokens = { ci: secret(), agent: secret(), repo: secret(), oidc: secret(), session: secret() };

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

    for (let i = 0; i < options.replicas; i++) {
      const name = String.fromCharCode(97 + i);
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const dataDir = path.join(work, `replica-${name}`);
      await fs.mkdir(dataDir, { recursive: true });
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
              // CI may upload artifacts with prod manifests: a static token's principal is its bare subject
              { name: 'prod', production: true, guardrails: { uploaders: ['ci'] } },
            ],
            statusWebhook: { principals: ['cluster-agent'] },
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
        AUTH_SESSION_SECRET: tokens.session,
        DEVPLANE_DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
      };
      // One after the other: two first starts at once race on knex's migration lock tables.
      const t0 = Date.now();
      replicas.push(await startProdReplica(bundle, overlay, env, url, dataDir));
      options.log?.(`replica ${name} ready at ${url} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }

    /** Polls until the catalog resolves the organisation (owners, memberships). */
    const catalogReady = async (timeoutMs = 110_000) => {
      const last = services[services.length - 1];
      const CI = `Bearer ${tokens.ci}`;
      for (const deadline = Date.now() + timeoutMs; ; ) {
        if (Date.now() > deadline) throw new Error(`the catalog did not ingest the organisation in ${timeoutMs} ms`);
        const r = await request(replicas[0].url, 'GET', `/api/catalog/entities/by-name/component/default/${last}`, { auth: CI });
        const u = await request(replicas[0].url, 'GET', '/api/catalog/entities/by-name/user/default/alice', { auth: CI });
        if (r.status === 200 && (r.json?.relations?.length ?? 0) > 0 && (u.json?.relations?.length ?? 0) > 0) return;
        await sleep(1000);
      }
    };

    return {
      replicas,
      services,
      tokens,
      git,
      idp,
      db,
      work,
      catalogReady,
      /** Who the stand-in IdP signs in next (what typing a password at a real IdP decides). */
      signInAs: (user: StandInUser) => {
        who = user;
      },
      /** Backstage's OIDC sign-in against `replicaUrl`, as the app's popup does it. */
      signIn: (replicaUrl: string) => oidcBrowserSignIn(replicaUrl),
      stop,
    };
  } catch (e) {
    for (const r of replicas) options.log?.(`--- replica ${r.url} log tail:\n${r.log().slice(-2000)}`);
    await stop();
    throw e;
  }
}
