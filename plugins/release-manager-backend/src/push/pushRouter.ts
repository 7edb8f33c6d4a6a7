import crypto from 'node:crypto';
import type { HttpAuthService, LoggerService, UrlReaderService } from '@backstage/backend-plugin-api';
import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import { invalidNameReason } from '@devplane/plugin-release-manager-common';
import express from 'express';
import Router from 'express-promise-router';
import { PushProgressStore } from './PushProgressStore';
import { PushToArtifact } from './PushToArtifact';
import { SourceSnapshot } from './sourceArtifact';

/** Checks GitHub's `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the webhook secret). */
export function verifyGitHubSignature(secret: string, body: Buffer, header: unknown): boolean {
  if (typeof header !== 'string' || !/^sha256=[0-9a-f]{64}$/.test(header)) return false;
  const expected = Buffer.from(`sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(header);
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

/** A GitHub repository at one commit, read through Backstage's UrlReader (GitHub integration). */
export function gitHubSourceSnapshot(
  reader: UrlReaderService,
  payload: {
    repoFullName: string;
    htmlUrl: string;
    branch: string;
    commit: SourceSnapshot['commit'];
  },
): SourceSnapshot {
  const at = (kind: 'blob' | 'tree', p: string) => `${payload.htmlUrl}/${kind}/${payload.commit.sha}/${p}`;
  return {
    repo: payload.repoFullName,
    branch: payload.branch,
    commit: payload.commit,
    url: `${payload.htmlUrl}/tree/${payload.commit.sha}`,
    provider: 'github',
    async readFile(p) {
      try {
        return (await (await reader.readUrl(at('blob', p))).buffer()).toString('utf8');
      } catch (e: any) {
        if (e?.name === 'NotFoundError') return undefined;
        throw e;
      }
    },
    async listFiles(dir) {
      try {
        const tree = await reader.readTree(at('tree', dir));
        const files = await tree.files();
        return files.map(f => ({ path: f.path, read: async () => (await f.content()).toString('utf8') }));
      } catch (e: any) {
        if (e?.name === 'NotFoundError') return [];
        throw e;
      }
    },
  };
}

const SHA = /^[0-9a-f]{40}$/;

/** Parses the fields of a GitHub `push` event the release manager needs; InputError naming the field. */
export function parseGitHubPush(body: any): {
  repoFullName: string;
  htmlUrl: string;
  ref: string;
  branch?: string;
  deleted: boolean;
  sender: string;
  commit: SourceSnapshot['commit'];
} {
  const str = (v: unknown, field: string, max = 1000) => {
    if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new InputError(`push event: ${field} is missing or invalid`);
    return v;
  };
  const ref = str(body?.ref, 'ref', 255);
  const repoFullName = str(body?.repository?.full_name, 'repository.full_name', 200);
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repoFullName)) throw new InputError('push event: repository.full_name is invalid');
  const htmlUrl = str(body?.repository?.html_url, 'repository.html_url', 500);
  if (!/^https:\/\/[^/\s]+\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(htmlUrl)) throw new InputError('push event: repository.html_url is invalid');
  const deleted = body?.deleted === true;
  const after = str(body?.after, 'after', 64);
  if (!SHA.test(after)) throw new InputError('push event: after must be a commit sha');
  const head = body?.head_commit;
  const sender = str(body?.sender?.login ?? body?.pusher?.name, 'sender.login', 100);
  const commit = {
    sha: after,
    authorName: String(head?.author?.name ?? '').slice(0, 255),
    authorEmail: String(head?.author?.email ?? '').slice(0, 255),
    committerName: String(head?.committer?.name ?? '').slice(0, 255),
    committerEmail: String(head?.committer?.email ?? '').slice(0, 255),
    message: String(head?.message ?? '').slice(0, 10_000),
    committedAt: typeof head?.timestamp === 'string' ? head.timestamp : undefined,
  };
  if (head && head.id !== after) throw new InputError('push event: head_commit.id differs from after');
  return {
    repoFullName,
    htmlUrl,
    ref,
    branch: ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined,
    deleted,
    sender,
    commit,
  };
}

/**
 * Routes of the push path: `GET /services/:service/pushes` (per-step progress for the portal) and,
 * when `releaseManager.push.github.webhookSecret` is set, `POST /webhooks/github` (GitHub's push
 * webhook, verified by its signature, processed in the background after a 202).
 */
export async function createPushRouter(options: {
  pushes: PushToArtifact;
  progress: PushProgressStore;
  httpAuth: HttpAuthService;
  logger: LoggerService;
  urlReader: UrlReaderService;
  githubWebhookSecret?: string;
}): Promise<express.Router> {
  const router = Router();

  router.get('/services/:service/pushes', async (req, res) => {
    await options.httpAuth.credentials(req);
    const reason = invalidNameReason('service', req.params.service);
    if (reason) throw new InputError(reason);
    // Long poll (the golden path follows its push this way): `changedAfter` is the newest
    // `updatedAt` the caller has seen; the answer comes once a push of the service changed after
    // it, or after `waitMs` (at most 10 s) with the records as they are.
    const { changedAfter, waitMs } = req.query;
    if (changedAfter === undefined && waitMs === undefined) {
      res.json({ items: await options.progress.list(req.params.service) });
      return;
    }
    if (typeof changedAfter !== 'string' || Number.isNaN(Date.parse(changedAfter)) || !/^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(changedAfter)) {
      throw new InputError('changedAfter: expected an ISO time such as 2026-12-02T01:00:00.000Z (the newest updatedAt seen)');
    }
    const wait = typeof waitMs === 'string' && /^\d{1,5}$/.test(waitMs) ? Number(waitMs) : NaN;
    if (!(wait >= 0 && wait <= 10_000)) throw new InputError('waitMs: expected whole milliseconds from 0 to 10000');
    res.json({ items: await options.progress.waitForChange(req.params.service, changedAfter, wait) });
  });

  router.post('/webhooks/github', express.raw({ type: '*/*', limit: '5mb' }), async (req, res) => {
    const secret = options.githubWebhookSecret;
    if (!secret) throw new NotFoundError('The GitHub push webhook is not configured (releaseManager.push.github.webhookSecret)');
    const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!verifyGitHubSignature(secret, body, req.headers['x-hub-signature-256'])) {
      throw new NotAllowedError('X-Hub-Signature-256 does not match the configured webhook secret');
    }
    const event = req.headers['x-github-event'];
    if (event === 'ping') {
      res.status(200).json({ ok: true });
      return;
    }
    if (event !== 'push') {
      res.status(202).json({ ignored: `event ${String(event).slice(0, 50)}` });
      return;
    }
    let parsed;
    try {
      parsed = parseGitHubPush(JSON.parse(body.toString('utf8')));
    } catch (e: any) {
      if (e instanceof InputError) throw e;
      throw new InputError('push event: body is not JSON');
    }
    if (!parsed.branch || parsed.deleted) {
      res.status(202).json({ ignored: 'not a branch update' });
      return;
    }
    const pusher = `github:${parsed.sender}`;
    const branch = parsed.branch;
    res.status(202).json({ accepted: true });
    options.pushes
      .fromSource(gitHubSourceSnapshot(options.urlReader, { ...parsed, branch }), {
        pusher,
        via: 'github',
        sourceRepoUrl: `${parsed.htmlUrl}/`,
        // on GitHub only the catalog links a repository to a service
        repoIsService: () => false,
      })
      .catch(e => options.logger.error(`GitHub push ${parsed.repoFullName} ${parsed.ref} → artifact failed: ${e?.stack ?? e}`));
  });

  return router;
}
