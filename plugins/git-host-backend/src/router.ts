import express from 'express';
import type { LoggerService } from '@backstage/backend-plugin-api';
import Router from 'express-promise-router';
import { NotFoundError } from '@backstage/errors';
import { LocalGitHost } from '@devplane/plugin-git-host-node';
import type { HttpAuthService } from '@backstage/backend-plugin-api';
import { isPush, parseSmartPath, serveSmartHttp } from './smartHttp';
import { authorizePush, PushRefusedError, sendRefusal } from './pushAuth';

/** Options of {@link createRouter}. */
export interface RouterOptions {
  host: LocalGitHost;
  allowPush: boolean;
  logger?: LoggerService;
  /** Reads the Backstage credentials of a push; without it every push is refused. */
  httpAuth?: HttpAuthService;
  /** Repositories refused to every push (the release manager's config repo). */
  readOnlyRepos?: string[];
  /** `core.hooksPath` of receive-pack (see pushAuth.ts installHooks). */
  hooksDir?: string;
  /**
   * The portal's base URL (`app.baseUrl`): a browser opening a browse URL ("View source") is sent to
   * the portal's repository browser at `<portalBaseUrl>/git-host/<repo>/<tree|blob>/<ref>/<path>`.
   */
  portalBaseUrl?: string;
}

/**
 * Routes of the git host plugin (mounted at /api/git-host):
 * - `GET /repos` lists repositories with their clone URLs;
 * - `GET /repos/<repo>/blob/<ref>/<path>` returns a file's raw content (what the URL reader reads),
 *   `GET /repos/<repo>/tree/<ref>/<dir>` the files below a directory as JSON; a browser (Accept:
 *   text/html, no `?raw`) is redirected to the portal's repository browser instead;
 * - `/repos/<repo>.git/(info/refs|git-upload-pack|git-receive-pack)` is git's smart HTTP.
 */
export async function createRouter(options: RouterOptions): Promise<express.Router> {
  const { host } = options;
  const router = Router();

  router.get('/repos', async (_req, res) => {
    const names = await host.list();
    res.json({ items: names.map(name => ({ name, cloneUrl: host.cloneUrl(name) })) });
  });

  router.all(/^\/repos\/(.+\.git\/.*)$/, async (req, res) => {
    const rel = decodeURIComponent(req.path.slice('/repos/'.length));
    const parsed = parseSmartPath(rel);
    const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
    let pusher: string | undefined;
    if (parsed && isPush(parsed.endpoint, query)) {
      // who may push, before git sees a byte: see pushAuth.ts
      try {
        if (!options.httpAuth) throw new PushRefusedError(403, 'Pushing is not configured on this git host');
        pusher = await authorizePush(req, parsed.repo, {
          httpAuth: options.httpAuth,
          allowPush: options.allowPush,
          readOnlyRepos: options.readOnlyRepos ?? [],
        });
      } catch (e) {
        if (!(e instanceof PushRefusedError)) throw e;
        sendRefusal(res, e);
        return;
      }
    }
    await serveSmartHttp(req, res, rel, { ...options, pusher });
  });

  router.get(/^\/repos\/(.+)\/(blob|tree)\/(.+)$/, async (req, res) => {
    const parsed = host.parseUrl(`${host.baseUrl}${req.path.slice('/repos'.length)}`);
    // a browse URL of the repository root (what the catalog's "View source" links to) is a tree
    const kind = parsed.kind === 'blob' && parsed.path === '' ? 'tree' : parsed.kind;
    if (options.portalBaseUrl && wantsPage(req)) {
      // built from the validated parts only: never an open redirect
      const target = [parsed.repo, kind, parsed.ref, ...(parsed.path ? parsed.path.split('/') : [])]
        .map(encodeURIComponent)
        .join('/');
      res.redirect(302, `${options.portalBaseUrl.replace(/\/+$/, '')}/git-host/${target}`);
      return;
    }
    if (kind === 'tree') {
      const { commit, files } = await host.listTree(parsed.repo, parsed.path, parsed.ref);
      res.json({ commit, files: files.map(f => f.path) });
      return;
    }
    const { content, blobSha } = await host.readFile(parsed.repo, parsed.path, parsed.ref);
    res.setHeader('ETag', `"${blobSha}"`);
    // a pushed .html file must never render as a page of this origin
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.type('text/plain').send(content);
  });

  router.use((req, _res) => {
    throw new NotFoundError(`No route for ${req.method} ${req.path}`);
  });
  return router;
}

/** A person's browser navigating to a browse URL (not the portal's fetch, not git, not `?raw`). */
function wantsPage(req: express.Request): boolean {
  if (req.query.raw !== undefined) return false;
  return /\btext\/html\b/.test(String(req.headers.accept ?? ''));
}
