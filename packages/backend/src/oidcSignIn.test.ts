/*
 * Production sign-in through OpenID Connect, exercised end to end against a stand-in identity
 * provider that speaks the real wire contract (discovery document, authorization endpoint with
 * redirect, token endpoint with client_secret_basic, RS256 id_token verified through JWKS, userinfo).
 * The Backstage side is real: the auth backend with @backstage/plugin-auth-backend-module-oidc-provider,
 * configured like app-config.production.yaml (environment `production`, e-mail resolver).
 */
import { AddressInfo } from 'node:net';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import authPlugin from '@backstage/plugin-auth-backend';
import oidcProviderModule from '@backstage/plugin-auth-backend-module-oidc-provider';
import { oidcBrowserSignIn, oidcSessionRestore, startStandInIdp } from './__testUtils__/oidcStandIn';

jest.setTimeout(60_000);

const CLIENT_ID = 'devplane';
const CLIENT_SECRET = 'stand-in-secret';

describe('production sign-in through OIDC (stand-in identity provider)', () => {
  let idp: Awaited<ReturnType<typeof startStandInIdp>>;
  let who = { sub: 'u-1', email: 'alice@bank.example', name: 'Alice' };

  beforeAll(async () => {
    idp = await startStandInIdp({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, user: () => who });
  });
  afterAll(async () => {
    await idp.close();
  });

  async function signIn(afterSignIn?: (base: string, cookies: string[]) => Promise<void>) {
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
      // The app's popup: start → IdP (redirect back with a code) → handler/frame, which exchanges
      // the code (token endpoint, JWKS, userinfo) and answers the popup.
      const { authorize, callback, cookies, response } = await oidcBrowserSignIn(base);
      expect(`${authorize.origin}${authorize.pathname}`).toBe(`${idp.issuer}/authorize`);
      expect(callback.pathname).toBe('/api/auth/oidc/handler/frame');
      await afterSignIn?.(base, cookies);
      return response;
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

  it('restores the session on a full page load from the refresh cookie, and not without it', async () => {
    who = { sub: 'u-1', email: 'alice@bank.example', name: 'Alice' };
    await signIn(async (base, cookies) => {
      expect(cookies.some(c => c.startsWith('oidc-refresh-token='))).toBe(true);
      const restored = await oidcSessionRestore(base, cookies);
      expect(restored.status).toBe(200);
      expect(restored.body.backstageIdentity.identity.userEntityRef).toBe('user:default/alice');
      expect(idp.calls.filter(c => c === 'POST /token').length).toBeGreaterThanOrEqual(2);
      // without the cookie (another browser) there is no session to restore
      const none = await oidcSessionRestore(base, []);
      expect(none.status).toBe(401);
    });
  });

  it('refuses someone the IdP knows but the catalog does not', async () => {
    who = { sub: 'u-2', email: 'mallory@elsewhere.example', name: 'Mallory' };
    const response = await signIn();
    expect(response.type).toBe('authorization_response');
    expect(response.error?.message ?? '').toMatch(/user|found|sign in/i);
    expect(response.response).toBeUndefined();
  });
});
