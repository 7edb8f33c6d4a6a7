/*
 * `release-manager login` against the REAL Backstage auth backend (its OAuth authorization server
 * with Client ID Metadata Documents), with the real auth, httpAuth and userInfo services, so the
 * token the CLI receives is a real Backstage user token that the real release manager accepts.
 * The test plays the person's browser: it signs in on the portal (guest provider, as alice),
 * follows the authorization URL the CLI printed, approves on the consent endpoint the portal's
 * consent page calls, and follows the redirect back to the CLI's 127.0.0.1 listener.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { authServiceFactory } from '@backstage/backend-defaults/auth';
import { httpAuthServiceFactory } from '@backstage/backend-defaults/httpAuth';
import { userInfoServiceFactory } from '@backstage/backend-defaults/userInfo';
import { createServiceFactory } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import authPlugin from '@backstage/plugin-auth-backend';
import guestProvider from '@backstage/plugin-auth-backend-module-guest-provider';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { notificationService } from '@backstage/plugin-notifications-node';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import releaseManagerPlugin from '@devplane/plugin-release-manager-backend';
import { run } from './index';

jest.setTimeout(120_000);

let backendUrl: string;
let dataDir: string;
let configDir: string;
let stop: () => Promise<void>;

async function cli(argv: string[], openBrowser?: (url: string) => void) {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    io: { stdout: t => void (stdout += t), stderr: t => void (stderr += t) },
    cwd: dataDir,
    env: {
      RELEASE_MANAGER_URL: `${backendUrl}/api/release-manager`,
      RELEASE_MANAGER_CONFIG_DIR: configDir,
    },
    openBrowser,
  });
  return { code, stdout, stderr };
}

/** What the person does in the browser after the CLI opened the authorization URL. */
async function personApproves(authorizeUrl: string): Promise<string> {
  const signIn = await fetch(`${backendUrl}/api/auth/guest/refresh`, {
    headers: { 'x-requested-with': 'XMLHttpRequest' },
  });
  const portalToken = (await signIn.json()).backstageIdentity.token as string;
  const authorize = await fetch(authorizeUrl, { redirect: 'manual' });
  expect(authorize.status).toBe(302);
  const consentPage = new URL(authorize.headers.get('location')!);
  expect(consentPage.origin).toBe('http://localhost:3000');
  const sessionId = consentPage.pathname.split('/').pop();
  const approve = await fetch(`${backendUrl}/api/auth/v1/sessions/${sessionId}/approve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${portalToken}` },
  });
  expect(approve.status).toBe(200);
  const { redirectUrl } = await approve.json();
  expect(redirectUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/);
  const back = await fetch(redirectUrl);
  expect(back.status).toBe(200);
  return redirectUrl;
}

const nodeEnv = process.env.NODE_ENV;

beforeAll(async () => {
  // The auth backend accepts an http:// client id (the CLI's metadata document on localhost) only
  // in development, which is how `./dev start` runs it; in production the portal is https.
  process.env.NODE_ENV = 'development';
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-cli-login-'));
  configDir = path.join(dataDir, 'home', '.config', 'devplane');
  const backend = await startTestBackend({
    features: [
      authPlugin,
      guestProvider,
      releaseManagerPlugin,
      authServiceFactory,
      httpAuthServiceFactory,
      userInfoServiceFactory,
      mockServices.rootConfig.factory({
        data: {
          app: { baseUrl: 'http://localhost:3000' },
          backend: { baseUrl: 'http://localhost:7007' },
          devplane: { dataDir },
          auth: {
            clientIdMetadataDocuments: { enabled: true },
            providers: {
              guest: { userEntityRef: 'user:default/alice', dangerouslyAllowOutsideDevelopment: true },
            },
          },
        },
      }),
      catalogServiceMock.factory({ entities: [] }),
      createServiceFactory({ service: notificationService, deps: {}, factory: () => ({ send: async () => {} }) }),
      createServiceFactory({ service: signalsServiceRef, deps: {}, factory: () => ({ publish: async () => {} }) }),
    ],
  });
  backendUrl = `http://localhost:${(backend.server.address() as any).port}`;
  stop = () => backend.stop();
});

afterAll(async () => {
  process.env.NODE_ENV = nodeEnv;
  await stop?.();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

it('without a login, a command is refused and says how to sign in', async () => {
  const r = await cli(['status', '--service', 'ledger']);
  expect(r.code).toBe(4);
  expect(r.stderr).toContain('not signed in (run release-manager login');
});

it('signs in through the browser, keeps the token with mode 0600 and uses it', async () => {
  let opened: string | undefined;
  let approval: Promise<string> | undefined;
  const r = await cli(['login'], url => {
    opened = url;
    approval = personApproves(url).catch(async error => {
      // unblock the CLI's listener so the failure shows instead of a 5 minute wait
      const u = new URL(url).searchParams;
      await fetch(`${u.get('redirect_uri')}?error=test_failed&state=${u.get('state')}`);
      throw error;
    });
  });
  await approval;
  expect(r.stderr).toContain('Sign in to the portal in your browser:');
  expect(opened).toMatch(new RegExp(`^${backendUrl}/api/auth/v1/authorize\\?`));
  const params = new URL(opened!).searchParams;
  expect(params.get('code_challenge_method')).toBe('S256');
  expect(params.get('client_id')).toBe(`${backendUrl}/api/auth/.well-known/oauth-client/cli.json`);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(`signed in to ${backendUrl} as user:default/alice\n`);

  const file = path.join(configDir, 'release-manager-credentials.json');
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  expect(fs.statSync(configDir).mode & 0o777).toBe(0o700);
  const stored = JSON.parse(fs.readFileSync(file, 'utf8')).logins[0];
  expect(stored).toMatchObject({ backendUrl, user: 'user:default/alice' });
  expect(stored.accessToken.split('.')).toHaveLength(3);

  // the kept token is a real Backstage user token: the real auth service accepts it
  const status = await cli(['status', '--service', 'ledger', '--json']);
  expect(status.stderr).toBe('');
  expect(status.code).toBe(0);
  expect(JSON.parse(status.stdout).map((s: any) => s.environment)).toEqual(['dev', 'staging', 'prod']);

  const who = await cli(['login', '--status']);
  expect(who.stdout).toMatch(/^signed in to .* as user:default\/alice\n {2}token valid until /);

  const out = await cli(['logout']);
  expect(out.stdout).toBe(`signed out of ${backendUrl}\n`);
  const after = await cli(['status', '--service', 'ledger']);
  expect(after.code).toBe(4);
});

it('ignores an answer that does not carry the state it sent, and fails cleanly when refused', async () => {
  const r = await cli(['login'], url => {
    const redirect = new URL(url).searchParams.get('redirect_uri')!;
    void (async () => {
      const forged = await fetch(`${redirect}?code=stolen&state=not-the-one`);
      expect(forged.status).toBe(400);
      const state = new URL(url).searchParams.get('state');
      await fetch(`${redirect}?error=access_denied&error_description=User+denied+the+request&state=${state}`);
    })();
  });
  expect(r.code).toBe(4);
  expect(r.stderr).toContain('sign-in refused: User denied the request');
  expect(fs.existsSync(path.join(configDir, 'release-manager-credentials.json'))).toBe(true);
  const status = await cli(['login', '--status']);
  expect(status.code).toBe(4);
});
