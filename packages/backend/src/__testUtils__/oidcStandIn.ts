/*
 * A stand-in OpenID Connect identity provider that speaks the real wire contract (discovery
 * document, authorization endpoint redirecting back with a code, token endpoint with
 * client_secret_basic and PKCE S256, RS256 id_token verified through JWKS, userinfo, refresh tokens
 * on the refresh_token grant as Backstage's session restore uses them), and the
 * browser side of Backstage's OIDC sign-in (start → IdP → handler/frame) driven over plain HTTP.
 * Used by oidcSignIn.test.ts (test backend) and by the production-bundle replicas of
 * scripts/prod-replicas.js (the real bundle). The user who "signs in at the IdP" is chosen by the
 * caller (`user()`), which is what typing a password at a real IdP decides.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import { AddressInfo } from 'node:net';

export interface StandInUser {
  sub: string;
  email: string;
  name: string;
}

function b64url(data: Buffer | string) {
  return Buffer.from(data).toString('base64url');
}

/** A minimal OpenID provider: one user per login (chosen by `user()`), codes usable once. */
export async function startStandInIdp(options: {
  clientId: string;
  clientSecret: string;
  user: () => StandInUser;
}) {
  const { clientId, clientSecret, user } = options;
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = 'stand-in-1';
  const jwk = { ...(publicKey.export({ format: 'jwk' }) as object), kid, alg: 'RS256', use: 'sig' };
  const codes = new Map<string, { nonce?: string; redirectUri: string; challenge?: string; user: StandInUser }>();
  const accessTokens = new Map<string, StandInUser>();
  // A real IdP hands out a refresh token with the code grant (Backstage asks for offline access);
  // the auth backend keeps it in its refresh cookie and restores the session on every page load.
  const refreshTokens = new Map<string, StandInUser>();
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
        code_challenge_methods_supported: ['S256'],
        scopes_supported: ['openid', 'email', 'profile'],
      });
    } else if (url.pathname === '/jwks') {
      json(200, { keys: [jwk] });
    } else if (url.pathname === '/authorize') {
      const q = url.searchParams;
      if (q.get('client_id') !== clientId || q.get('response_type') !== 'code' || !q.get('redirect_uri')) {
        json(400, { error: 'invalid_request' });
        return;
      }
      if (q.get('code_challenge') && q.get('code_challenge_method') !== 'S256') {
        json(400, { error: 'invalid_request', error_description: 'only S256 PKCE' });
        return;
      }
      const code = crypto.randomBytes(12).toString('hex');
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
        if (id !== clientId || secret !== clientSecret) {
          json(401, { error: 'invalid_client' });
          return;
        }
        const form = new URLSearchParams(body);
        const tokens = (who: StandInUser, nonce?: string) => {
          const now = Math.floor(Date.now() / 1000);
          const accessToken = crypto.randomBytes(16).toString('hex');
          const refreshToken = crypto.randomBytes(16).toString('hex');
          accessTokens.set(accessToken, who);
          refreshTokens.set(refreshToken, who);
          return {
            access_token: accessToken,
            refresh_token: refreshToken,
            token_type: 'Bearer',
            expires_in: 3600,
            scope: 'openid email profile',
            id_token: sign({
              iss: issuer,
              aud: clientId,
              sub: who.sub,
              iat: now,
              exp: now + 300,
              ...(nonce ? { nonce } : {}),
              email: who.email,
            }),
          };
        };
        if (form.get('grant_type') === 'refresh_token') {
          // A refresh token stays valid after use (Keycloak's and Entra ID's default): the app may
          // restore a session with two refreshes in flight on one page load. A one-use token made
          // the second answer 401 and signed the user out (seen in the bundle bench).
          const who = refreshTokens.get(form.get('refresh_token') ?? '');
          if (!who) {
            json(400, { error: 'invalid_grant' });
            return;
          }
          json(200, tokens(who));
          return;
        }
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
        json(200, tokens(grant.user, grant.nonce));
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
  return {
    issuer,
    metadataUrl: `${issuer}/.well-known/openid-configuration`,
    calls,
    close: () =>
      new Promise<void>(r => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Reads the auth response the popup page would post to the app. */
export function authResponseOf(html: string): any {
  const m = /atob\('([^']+)'\)/.exec(html) ?? /decodeURIComponent\('([^']+)'\)/.exec(html);
  if (!m) throw new Error(`no auth response in: ${html.slice(0, 300)}`);
  const text = /atob/.test(m[0]) ? Buffer.from(m[1], 'base64').toString('utf8') : decodeURIComponent(m[1]);
  return JSON.parse(text);
}

/**
 * What the app's sign-in popup does, over plain HTTP: opens `/api/auth/oidc/start`, follows the
 * redirect to the IdP (which signs in whoever its `user()` names), follows the redirect back to
 * `/api/auth/oidc/handler/frame` with the cookies the start set, and returns the auth response the
 * frame posts to the app (`response.backstageIdentity.token` on success, `error` otherwise).
 */
export async function oidcBrowserSignIn(backendBaseUrl: string, env = 'production'): Promise<any> {
  const start = await fetch(
    `${backendBaseUrl}/api/auth/oidc/start?env=${encodeURIComponent(env)}&scope=openid%20email%20profile`,
    { redirect: 'manual' },
  );
  if (start.status !== 302) throw new Error(`oidc start answered ${start.status}: ${(await start.text()).slice(0, 200)}`);
  const authorize = new URL(start.headers.get('location')!);
  // A browser's cookie jar: cleared cookies (Max-Age=0) dropped, the last value per name kept.
  const jar = new Map<string, string>();
  for (const c of start.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const name = pair.slice(0, pair.indexOf('='));
    if (/max-age=0/i.test(c)) jar.delete(name);
    else jar.set(name, pair);
  }
  const atIdp = await fetch(authorize, { redirect: 'manual' });
  if (atIdp.status !== 302) throw new Error(`IdP authorize answered ${atIdp.status}: ${(await atIdp.text()).slice(0, 200)}`);
  const callback = new URL(atIdp.headers.get('location')!);
  const frame = await fetch(`${backendBaseUrl}${callback.pathname}${callback.search}`, {
    headers: { cookie: [...jar.values()].join('; ') },
    redirect: 'manual',
  });
  // the auth backend's refresh cookie, which a browser sends on its next page load
  const cookies = frame.headers
    .getSetCookie()
    .filter(c => !/max-age=0/i.test(c))
    .map(c => c.split(';')[0]);
  return { authorize, callback, cookies, response: authResponseOf(await frame.text()) };
}

/**
 * What the app does on a full page load to restore a session: `GET /api/auth/oidc/refresh` with the
 * refresh cookie (the auth backend refreshes at the IdP). Returns the HTTP status and the answer.
 */
export async function oidcSessionRestore(backendBaseUrl: string, cookies: string[], env = 'production') {
  const res = await fetch(
    `${backendBaseUrl}/api/auth/oidc/refresh?optional&scope=openid%20email%20profile&env=${encodeURIComponent(env)}`,
    { headers: { cookie: cookies.join('; '), 'x-requested-with': 'XMLHttpRequest' } },
  );
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}
