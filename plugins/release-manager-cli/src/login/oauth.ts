import crypto from 'node:crypto';
import http from 'node:http';
import { CliError, ExitCode } from '../errors';
import { StoredLogin } from './credentials';

/*
 * Sign-in for people: OAuth 2 authorization code with PKCE against the Backstage auth backend's
 * own authorization server (`/api/auth/v1/authorize` and `/v1/token`), with the client described by
 * the portal's Client ID Metadata Document for CLIs (`/api/auth/.well-known/oauth-client/cli.json`,
 * enabled by `auth.clientIdMetadataDocuments.enabled`). The browser shows the portal's consent page;
 * the code comes back to a one-shot HTTP listener on 127.0.0.1 (random port, path /callback).
 */

export interface LoginDeps {
  fetch: typeof fetch;
  /** Progress lines for the person (stderr). */
  note: (line: string) => void;
  /** Opens the URL in a browser; absent or failing → the person opens the printed URL. */
  openBrowser?: (url: string) => void;
  /** How long to wait for the browser (default 5 minutes). */
  timeoutMs?: number;
}

const b64url = (buf: Buffer) =>
  buf.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

interface TokenResponse {
  access_token?: string;
  expires_in?: number;
  refresh_token?: string;
  error?: string;
  error_description?: string;
}

function subjectOf(token: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
    return typeof payload?.sub === 'string' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}

function toLogin(backendUrl: string, body: TokenResponse, previous?: StoredLogin): StoredLogin {
  if (!body.access_token) {
    throw new CliError('the portal answered without an access token', ExitCode.Error);
  }
  const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 3600;
  return {
    backendUrl,
    accessToken: body.access_token,
    expiresAt: new Date(Date.now() + seconds * 1000).toISOString(),
    refreshToken: body.refresh_token ?? previous?.refreshToken,
    user: subjectOf(body.access_token) ?? previous?.user,
  };
}

async function postToken(
  deps: Pick<LoginDeps, 'fetch'>,
  authBase: string,
  body: Record<string, string>,
): Promise<TokenResponse> {
  let res: Response;
  try {
    res = await deps.fetch(`${authBase}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw new CliError(`cannot reach the portal at ${authBase} (${(e as Error).message})`, ExitCode.Unreachable);
  }
  const json = (await res.json().catch(() => ({}))) as TokenResponse & { error?: any };
  if (!res.ok) {
    let why = `HTTP ${res.status}`;
    if (typeof json.error_description === 'string') why = json.error_description;
    else if (typeof json.error === 'string') why = json.error;
    else if (typeof json.error?.message === 'string') why = json.error.message;
    throw new CliError(`sign-in failed: ${why}`, ExitCode.Refused);
  }
  return json;
}

interface Callback {
  url: string;
  result: Promise<{ code: string }>;
  close: () => Promise<void>;
}

function startCallback(state: string, timeoutMs: number): Promise<Callback> {
  return new Promise((resolve, reject) => {
    let settle!: (r: { code: string }) => void;
    let fail!: (e: Error) => void;
    const result = new Promise<{ code: string }>((res, rej) => {
      settle = res;
      fail = rej;
    });
    result.catch(() => {});
    const timer = setTimeout(
      () =>
        fail(
          new CliError(
            `no answer from the browser within ${Math.round(timeoutMs / 1000)} s; run release-manager login again`,
            ExitCode.Refused,
          ),
        ),
      timeoutMs,
    );
    const server = http.createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (u.pathname !== '/callback') {
        res.writeHead(404).end('Not found');
        return;
      }
      const page = (title: string, text: string) =>
        `<!doctype html><meta charset="utf-8"><title>${title}</title>` +
        `<body style="font-family:sans-serif;margin:4em"><h2>${title}</h2><p>${text}</p></body>`;
      if (u.searchParams.get('state') !== state) {
        res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
        res.end(page('Sign-in refused', 'This answer does not belong to the sign-in the CLI started.'));
        return;
      }
      const error = u.searchParams.get('error');
      const code = u.searchParams.get('code');
      if (error || !code) {
        res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
        res.end(page('Sign-in cancelled', 'You can close this window.'));
        fail(
          new CliError(
            `sign-in refused: ${u.searchParams.get('error_description') ?? error ?? 'no code'}`,
            ExitCode.Refused,
          ),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page('Signed in', 'You can close this window and return to the terminal.'));
      settle({ code });
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({
        url: `http://127.0.0.1:${port}/callback`,
        result,
        close: () =>
          new Promise<void>(done => {
            clearTimeout(timer);
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** Runs the browser sign-in against the portal at `backendUrl` and returns the new login. */
export async function browserLogin(backendUrl: string, deps: LoginDeps): Promise<StoredLogin> {
  const authBase = `${backendUrl}/api/auth`;
  const clientId = `${authBase}/.well-known/oauth-client/cli.json`;
  let meta: Response;
  try {
    meta = await deps.fetch(clientId, { signal: AbortSignal.timeout(30_000) });
  } catch (e) {
    throw new CliError(`cannot reach the portal at ${backendUrl} (${(e as Error).message}); set --url`, ExitCode.Unreachable);
  }
  if (!meta.ok) {
    throw new CliError(
      `the portal at ${backendUrl} does not offer CLI sign-in (HTTP ${meta.status}); ` +
        'an admin enables it with auth.clientIdMetadataDocuments.enabled: true; meanwhile use --token',
      ExitCode.Refused,
    );
  }
  const verifier = b64url(crypto.randomBytes(32));
  const challenge = b64url(crypto.createHash('sha256').update(verifier).digest());
  const state = b64url(crypto.randomBytes(16));
  const callback = await startCallback(state, deps.timeoutMs ?? 5 * 60_000);
  try {
    const authorize = new URL(`${authBase}/v1/authorize`);
    authorize.searchParams.set('client_id', clientId);
    authorize.searchParams.set('redirect_uri', callback.url);
    authorize.searchParams.set('response_type', 'code');
    authorize.searchParams.set('scope', 'openid offline_access');
    authorize.searchParams.set('state', state);
    authorize.searchParams.set('code_challenge', challenge);
    authorize.searchParams.set('code_challenge_method', 'S256');
    deps.note(`Sign in to the portal in your browser:\n  ${authorize.toString()}`);
    try {
      deps.openBrowser?.(authorize.toString());
    } catch {
      // the person opens the printed URL
    }
    const { code } = await callback.result;
    const body = await postToken(deps, authBase, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: callback.url,
      code_verifier: verifier,
    });
    return toLogin(backendUrl, body);
  } finally {
    await callback.close();
  }
}

/** Trades a refresh token for a new access token; undefined when the portal refuses it. */
export async function refreshLogin(
  login: StoredLogin,
  deps: Pick<LoginDeps, 'fetch'>,
): Promise<StoredLogin | undefined> {
  if (!login.refreshToken) return undefined;
  try {
    const body = await postToken(deps, `${login.backendUrl}/api/auth`, {
      grant_type: 'refresh_token',
      refresh_token: login.refreshToken,
    });
    return toLogin(login.backendUrl, body, login);
  } catch {
    return undefined;
  }
}
