// A config repo remote reached over HTTP with a token, as production has it (a git server that
// wants `Authorization: Basic x-access-token:<token>`, GitHub's convention): git's own
// `git http-backend` behind the git host plugin's smart-HTTP handler (serveSmartHttp), with a token
// check in front. It stands in for GitHub/GitLab, which cannot run here; the protocol is git's.
import crypto from 'node:crypto';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import { LocalGitHost } from '@devplane/plugin-git-host-node';
import { serveSmartHttp } from '@devplane/plugin-git-host-backend';

function sameSecret(a: string, b: string) {
  const x = crypto.createHash('sha256').update(a).digest();
  const y = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(x, y);
}

/**
 * Serves the bare repositories under `rootDir` (`<name>.git`) at `http://127.0.0.1:<port>/<name>.git`,
 * fetch and push, for requests whose Basic password is `token`; anything else gets 401 with a
 * Basic challenge (what git asks its credential helper on). Counts requests per endpoint.
 */
export async function startGitHttpRemote(rootDir: string, token: string) {
  const counts = { refused: 0, fetches: 0, pushes: 0 };
  let baseUrl = '';
  const host = () => new LocalGitHost({ rootDir, baseUrl });
  const app = express();
  app.use(async (req, res) => {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization ?? '');
    const password = m ? Buffer.from(m[1], 'base64').toString('utf8').replace(/^[^:]*:/, '') : '';
    if (!password || !sameSecret(password, token)) {
      counts.refused++;
      res.status(401).setHeader('WWW-Authenticate', 'Basic realm="config repo"');
      res.end('a token is needed\n');
      return;
    }
    const rel = decodeURIComponent(req.path.replace(/^\/+/, ''));
    if (rel.endsWith('/git-upload-pack')) counts.fetches++;
    if (rel.endsWith('/git-receive-pack')) counts.pushes++;
    try {
      await serveSmartHttp(req, res, rel, { host: host(), allowPush: true, pusher: 'release-manager' });
    } catch (e: any) {
      if (!res.headersSent) res.status(e?.name === 'NotFoundError' ? 404 : 400).end(`${e?.message ?? e}\n`);
      else res.end();
    }
  });
  const server = http.createServer(app);
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (repo: string) => `${baseUrl}/${repo}.git`,
    path: (repo: string) => path.join(rootDir, `${repo}.git`),
    counts,
    close: () =>
      new Promise<void>(r => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
