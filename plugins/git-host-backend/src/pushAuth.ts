import fs from 'node:fs/promises';
import path from 'node:path';
import type { Request, Response } from 'express';
import type { HttpAuthService } from '@backstage/backend-plugin-api';
import type { LocalGitHost } from '@devplane/plugin-git-host-node';

/** Options of {@link authorizePush}. */
export interface PushAuthOptions {
  httpAuth: HttpAuthService;
  /** `gitHost.allowPush`: false refuses every push. */
  allowPush: boolean;
  /**
   * Repositories nobody may push to over HTTP: the release manager's config repo
   * (`releaseManager.configRepo.name`, default `config`). The release manager writes it
   * through the filesystem, never through this route.
   */
  readOnlyRepos: string[];
}

/** A refused push: status and a one-line message git shows to the pusher. */
export class PushRefusedError extends Error {
  constructor(readonly status: 401 | 403, message: string) {
    super(message);
    this.name = 'PushRefusedError';
  }
}

/** Realm sent with a 401, so git asks its credential helper (or the user) for a token. */
export const GIT_HOST_REALM = 'Developer Control Plane git host';

/**
 * Git clients send credentials as HTTP Basic (`https://user:<token>@host/...`, a credential
 * helper) or as a header (`git -c http.extraHeader="Authorization: Bearer <token>"`). Backstage
 * reads Bearer tokens only: a Basic password is handed on as the Bearer token (the user name is
 * ignored — the token says who you are).
 */
export function bearerFromBasic(req: Request): void {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const password = colon >= 0 ? decoded.slice(colon + 1) : '';
  if (password && /^\S+$/.test(password)) {
    req.headers.authorization = `Bearer ${password}`;
  } else {
    delete req.headers.authorization;
  }
}

/**
 * Decides whether this request may push (receive-pack, including its ref advertisement) to `repo`,
 * and returns who pushes: the user entity ref of a user token, or the subject of a service token
 * (an external-access static token configured with a subject, for CI). Throws
 * {@link PushRefusedError}:
 * - 403 for a read-only repository (the config repo), whoever asks, whatever `allowPush` says;
 * - 403 when `gitHost.allowPush` is false;
 * - 401 without a valid Backstage token.
 */
export async function authorizePush(req: Request, repo: string, options: PushAuthOptions): Promise<string> {
  if (options.readOnlyRepos.includes(repo)) {
    throw new PushRefusedError(
      403,
      `Pushing to '${repo}' is refused: it is the release manager's config repo, written only by the release manager. Release, promote and roll back through the portal, the API or the CLI.`,
    );
  }
  if (!options.allowPush) {
    throw new PushRefusedError(403, 'Pushing to the local git host is disabled (gitHost.allowPush: false)');
  }
  bearerFromBasic(req);
  let credentials;
  try {
    credentials = await options.httpAuth.credentials(req, { allow: ['user', 'service', 'none'] });
  } catch (e) {
    throw new PushRefusedError(
      401,
      `Pushing needs a valid Backstage token; this one was refused (${(e as Error).message}). Use a fresh token as the password, or git -c http.extraHeader="Authorization: Bearer <token>".`,
    );
  }
  const principal = credentials.principal as { type: string; userEntityRef?: string; subject?: string };
  if (principal.type === 'user' && principal.userEntityRef) return principal.userEntityRef;
  if (principal.type === 'service' && principal.subject) return principal.subject;
  throw new PushRefusedError(
    401,
    'Pushing needs a Backstage token: give it as the password (any user name), or git -c http.extraHeader="Authorization: Bearer <token>". CI uses an external-access static token with a subject (backend.auth.externalAccess).',
  );
}

/** Answers a refused push in plain text, which git prints to the pusher as `remote: …`. */
export function sendRefusal(res: Response, e: PushRefusedError): void {
  if (e.status === 401) res.setHeader('WWW-Authenticate', `Basic realm="${GIT_HOST_REALM}"`);
  res.status(e.status).type('text/plain').send(`${e.message}\n`);
}

/**
 * The pre-receive hook of pushes over HTTP (installed into `<rootDir>/.devplane-hooks`, used
 * through `core.hooksPath` only by the smart-HTTP handler). It refuses deleting the repository's
 * default branch (where HEAD points) and non-fast-forward updates of it; every other branch is
 * governed by the repository's own config (`receive.denyNonFastForwards`).
 */
export const PRE_RECEIVE_HOOK = `#!/bin/sh
# Installed by the Developer Control Plane git host; runs for pushes over HTTP only.
zero=0000000000000000000000000000000000000000
default=$(git symbolic-ref -q HEAD)
status=0
while read -r old new ref; do
  [ "$ref" = "$default" ] || continue
  name=\${ref#refs/heads/}
  if [ "$new" = "$zero" ]; then
    echo "refusing to delete the default branch '$name' of this repository" >&2
    status=1
  elif [ "$old" != "$zero" ] && ! git merge-base --is-ancestor "$old" "$new"; then
    echo "refusing a non-fast-forward update of the default branch '$name' (force-push): pull, merge or rebase, and push again" >&2
    status=1
  fi
done
exit $status
`;

/** Writes the hook (idempotent) and returns the hooks directory. */
export async function installHooks(host: LocalGitHost): Promise<string> {
  const dir = path.join(host.rootDir, '.devplane-hooks');
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  const file = path.join(dir, 'pre-receive');
  await fs.writeFile(`${file}.tmp`, PRE_RECEIVE_HOOK, { mode: 0o755 });
  await fs.rename(`${file}.tmp`, file);
  return dir;
}
