/*
 * Production sign-in through OpenID Connect, exercised end to end against a stand-in identity
 * provider that speaks the real wire contract (discovery document, authorization endpoint with
 * redirect, token endpoint with client_secret_basic, RS256 id_token verified through JWKS, userinfo).
 * The Backstage side is real: the auth backend with @backstage/plugin-auth-backend-module-oidc-provider,
 * configured like app-config.production.yaml (environment `production`, e-mail resolver).
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import authPlugin from '@backstage/plugin-auth-backend';
import oidcProviderModule from '@backstage/plugin-auth-backend-module-oidc-provider';

jest.setTimeout(60_000);

const CLIENT_ID = 'devplane';
const CLIENT_SECRET = 'stand-in-secret';

function b64url(data: Buffer | string) {
  return Buffer.from(data).toString('base64url');
}

/** A minimal OpenID provider: one user per login (chosen by the test), codes usable once. */
async function startStandInIdp(user: () => { sub: string; email: string; name: string }) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = 'stand-in-1';
  const jwk = { ...(publicKey.export({ format: 'jwk' }) as object), kid, alg: 'RS256', use: 'sig' };
  const codes = new Map<
    string,
    { nonce?: string; redirectUri: string; challenge?: string; user: ReturnType<typeof user> }
  >();
  const accessTokens = new Map<string, ReturnType<typeof user>>();
  const calls: string[] = [];
  let issuer = '';
  const sign = (claims: object) => {
    const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }));
    const body = b64url(JSON.stringify(claims));
    const sig = crypto.sign('RSA-SHA256', Buffer.from(`${head}.${body}`), privateKey);
    return `${head}.${body}.${b64url(sig)}`;
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, issuer);
    calls.push(`${req.method} ${url.pathname}`);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      json(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        userinfo_endpoint: `${issuer}/userinfo`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
        scopes_supported: ['openid', 'email', 'profile'],
      });
    } else if (url.pathname === '/jwks') {
      json(200, { keys: [jwk] });
    } else if (url.pathname === '/authorize') {
      const q = url.searchParams;
      if (q.get('client_id') !== CLIENT_ID || q.get('response_type') !== 'code' || !q.get('redirect_uri')) {
        json(400, { error: 'invalid_request' });
        return;
      }
      const code = crypto.randomBytes(12).toString('hex');
      if (q.get('code_challenge') && q.get('code_challenge_method') !== 'S256') {
        json(400, { error: 'invalid_request', error_description: 'only S256 PKCE' });
        return;
      }
      codes.set(code, {
        nonce: q.get('nonce') ?? undefined,
        redirectUri: q.get('redirect_uri')!,
        challenge: q.get('code_challenge') ?? undefined,
        user: user(),
      });
      const back = new URL(q.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state') ?? '');
      res.writeHead(302, { location: back.toString() }).end();
    } else if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', c => (body += c));
      req.on('end', () => {
        const basic = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
        const [id, secret] = basic.split(':').map(decodeURIComponent);
        if (id !== CLIENT_ID || secret !== CLIENT_SECRET) {
          json(401, { error: 'invalid_client' });
          return;
        }
        const form = new URLSearchParams(body);
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const pkceOk =
          !grant?.challenge || b64url(crypto.createHash('sha256').update(verifier).digest()) === grant.challenge;
        if (
          form.get('grant_type') !== 'authorization_code' ||
          !grant ||
          grant.redirectUri !== form.get('redirect_uri') ||
          !pkceOk
        ) {
          json(400, { error: 'invalid_grant' });
          return;
        }
        const now = Math.floor(Date.now() / 1000);
        const accessToken = crypto.randomBytes(16).toString('hex');
        accessTokens.set(accessToken, grant.user);
        json(200, {
          access_token: accessToken,
          token_type: 'Bearer',
          expires_in: 3600,
          scope: 'openid email profile',
          id_token: sign({
            iss: issuer,
            aud: CLIENT_ID,
            sub: grant.user.sub,
            iat: now,
            exp: now + 300,
            ...(grant.nonce ? { nonce: grant.nonce } : {}),
            email: grant.user.email,
          }),
        });
      });
    } else if (url.pathname === '/userinfo') {
      const u = accessTokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
      if (!u) {
        json(401, { error: 'invalid_token' });
        return;
      }
      json(200, { sub: u.sub, email: u.email, email_verified: true, name: u.name });
    } else {
      json(404, { error: 'not_found' });
    }
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { issuer, calls, close: () => new Promise<void>(r => server.close(() => r())) };
}

/** Reads the auth response the popup page would post to the app. */
function authResponseOf(html: string): any {
  const m = /atob\('([^']+)'\)/.exec(html) ?? /decodeURIComponent\('([^']+)'\)/.exec(html);
  if (!m) throw new Error(`no auth response in: ${html.slice(0, 300)}`);
  const text = /atob/.test(m[0]) ? Buffer.from(m[1], 'base64').toString('utf8') : decodeURIComponent(m[1]);
  return JSON.parse(text);
}

describe('production sign-in through OIDC (stand-in identity provider)', () => {
  let idp: Awaited<ReturnType<typeof startStandInIdp>>;
  let who = { sub: 'u-1', email: 'alice@bank.example', name: 'Alice' };

  beforeAll(async () => {
    idp = await startStandInIdp(() => who);
  });
  afterAll(async () => {
    await idp.close();
  });

  async function signIn() {
    const backend = await startTestBackend({
      features: [
        authPlugin,
        oidcProviderModule,
        catalogServiceMock.factory({
          entities: [
            {
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'User',
              metadata: { name: 'alice', namespace: 'default' },
              spec: { profile: { email: 'alice@bank.example' }, memberOf: [] },
            },
          ],
        }),
        mockServices.rootConfig.factory({
          data: {
            app: { baseUrl: 'http://localhost:3000' },
            auth: {
              environment: 'production',
              session: { secret: 'test-session-secret' },
              providers: {
                oidc: {
                  production: {
                    metadataUrl: `${idp.issuer}/.well-known/openid-configuration`,
                    clientId: CLIENT_ID,
                    clientSecret: CLIENT_SECRET,
                    prompt: 'auto',
                    signIn: { resolvers: [{ resolver: 'emailMatchingUserEntityProfileEmail' }] },
                  },
                },
              },
            },
          },
        }),
      ],
    });
    try {
      const base = `http://127.0.0.1:${(backend.server.address() as AddressInfo).port}`;
      // 1. The app opens the start URL in a popup: redirect to the IdP, with nonce/session cookies.
      const start = await fetch(`${base}/api/auth/oidc/start?env=production&scope=openid%20email%20profile`, {
        redirect: 'manual',
      });
      expect(start.status).toBe(302);
      const authorize = new URL(start.headers.get('location')!);
      expect(`${authorize.origin}${authorize.pathname}`).toBe(`${idp.issuer}/authorize`);
      // A browser's cookie jar: cleared cookies (Max-Age=0) dropped, the last value per name kept.
      const jar = new Map<string, string>();
      for (const c of start.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const name = pair.slice(0, pair.indexOf('='));
        if (/max-age=0/i.test(c)) jar.delete(name);
        else jar.set(name, pair);
      }
      const cookies = [...jar.values()].join('; ');
      // 2. The user signs in at the IdP, which redirects back with a code.
      const atIdp = await fetch(authorize, { redirect: 'manual' });
      expect(atIdp.status).toBe(302);
      const callback = new URL(atIdp.headers.get('location')!);
      expect(callback.pathname).toBe('/api/auth/oidc/handler/frame');
      // 3. Backstage exchanges the code (token endpoint, JWKS, userinfo) and answers the popup.
      const frame = await fetch(`${base}${callback.pathname}${callback.search}`, {
        headers: { cookie: cookies },
        redirect: 'manual',
      });
      return authResponseOf(await frame.text());
    } finally {
      await backend.stop();
    }
  }

  it('signs in a user who has a catalog User entity with that e-mail', async () => {
    who = { sub: 'u-1', email: 'alice@bank.example', name: 'Alice' };
    const response = await signIn();
    expect(response.type).toBe('authorization_response');
    const identity = response.response.backstageIdentity;
    expect(identity.identity).toMatchObject({ type: 'user', userEntityRef: 'user:default/alice' });
    const claims = JSON.parse(Buffer.from(identity.token.split('.')[1], 'base64url').toString());
    expect(claims.sub).toBe('user:default/alice');
    expect(response.response.profile.email).toBe('alice@bank.example');
    expect(idp.calls).toEqual(
      expect.arrayContaining([
        'GET /.well-known/openid-configuration',
        'GET /authorize',
        'POST /token',
        'GET /jwks',
        'GET /userinfo',
      ]),
    );
  });

  it('refuses someone the IdP knows but the catalog does not', async () => {
    who = { sub: 'u-2', email: 'mallory@elsewhere.example', name: 'Mallory' };
    const response = await signIn();
    expect(response.type).toBe('authorization_response');
    expect(response.error?.message ?? '').toMatch(/user|found|sign in/i);
    expect(response.response).toBeUndefined();
  });
});
