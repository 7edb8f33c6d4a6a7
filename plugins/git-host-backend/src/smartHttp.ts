import { spawn } from 'node:child_process';
import type { Request, Response } from 'express';
import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import type { LoggerService } from '@backstage/backend-plugin-api';
import { LocalGitHost, REPO_NAME_SOURCE, ZERO_SHA, gitEnv } from '@devplane/plugin-git-host-node';
import { RefUpdateCommand, captureReceivePackCommands } from './receivePack';

/** The smart-HTTP endpoints git clients use; the dumb protocol is not served. */
const SMART_PATH = new RegExp(`^(${REPO_NAME_SOURCE})\\.git\\/(info\\/refs|git-upload-pack|git-receive-pack)$`);

/** Parses `<repo>.git/<endpoint>` and validates the repository name. */
export function parseSmartPath(rel: string): { repo: string; endpoint: string } | undefined {
  const m = SMART_PATH.exec(rel);
  if (!m) return undefined;
  return { repo: m[1], endpoint: m[2] };
}

/** Options of the smart HTTP handler. */
export interface SmartHttpOptions {
  host: LocalGitHost;
  allowPush: boolean;
  /** Who is pushing (user entity ref or service subject), from the request's credentials. */
  pusher?: string;
  logger?: LoggerService;
  /** `core.hooksPath` for receive-pack (the default-branch protection of pushAuth.ts). */
  hooksDir?: string;
}

/** True for a receive-pack request (the push itself or its ref advertisement). */
export function isPush(endpoint: string, query: string): boolean {
  return endpoint === 'git-receive-pack' || /(^|&)service=git-receive-pack(&|$)/.test(query);
}

/**
 * Serves one smart-HTTP request by running `git http-backend` as a CGI program, streaming the
 * request body in and the response out.
 */
export async function serveSmartHttp(
  req: Request,
  res: Response,
  rel: string,
  options: SmartHttpOptions,
): Promise<void> {
  const parsed = parseSmartPath(rel);
  if (!parsed) {
    throw new InputError(
      `Not a git smart-HTTP path: '${rel.slice(0, 200)}'. Clone with git clone ${options.host.baseUrl}/<repo>.git`,
    );
  }
  if (!(await options.host.exists(parsed.repo))) {
    throw new NotFoundError(`Repository '${parsed.repo}' not found`);
  }
  const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
  if (isPush(parsed.endpoint, query) && !options.allowPush) {
    throw new NotAllowedError(
      'Pushing to the local git host is disabled (gitHost.allowPush: false)',
    );
  }

  const receiving = parsed.endpoint === 'git-receive-pack' && req.method === 'POST';
  const commands: Promise<RefUpdateCommand[]> = receiving
    ? captureReceivePackCommands(req, req.headers['content-encoding'])
    : Promise.resolve([]);

  const child = spawn('git', ['http-backend'], {
    env: gitEnv({
      GIT_PROJECT_ROOT: options.host.rootDir,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: `/${parsed.repo}.git/${parsed.endpoint}`,
      REQUEST_METHOD: req.method,
      QUERY_STRING: query,
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      CONTENT_LENGTH: req.headers['content-length'],
      HTTP_CONTENT_ENCODING: req.headers['content-encoding'],
      GIT_PROTOCOL: req.headers['git-protocol'] as string | undefined,
      REMOTE_USER: options.pusher ?? 'anonymous',
      // config for this git only (never written into the repositories): our hooks
      ...(options.hooksDir
        ? { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'core.hooksPath', GIT_CONFIG_VALUE_0: options.hooksDir }
        : {}),
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    }),
  });

  await new Promise<void>((resolve, reject) => {
    let headerBuf = Buffer.alloc(0);
    let headersDone = false;
    const stderr: Buffer[] = [];
    child.stderr.on('data', d => stderr.push(d));
    child.on('error', reject);
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      headerBuf = Buffer.concat([headerBuf, chunk]);
      const end = headerBuf.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      for (const line of headerBuf.subarray(0, end).toString('latin1').split('\r\n')) {
        const idx = line.indexOf(':');
        if (idx < 0) continue;
        const name = line.slice(0, idx).trim();
        const value = line.slice(idx + 1).trim();
        if (name.toLowerCase() === 'status') status = parseInt(value, 10) || 500;
        else res.setHeader(name, value);
      }
      res.status(status);
      const rest = headerBuf.subarray(end + 4);
      if (rest.length) res.write(rest);
    });
    child.on('close', async () => {
      if (!headersDone) {
        res.status(500).end(`git http-backend failed: ${Buffer.concat(stderr).toString()}`);
        resolve();
        return;
      }
      // announce before the client sees the end of the response: when `git push` returns,
      // the listeners have been told
      if (receiving) {
        try {
          await announceAcceptedUpdates(parsed.repo, await commands, options);
        } catch (e) {
          options.logger?.warn(`Could not announce a push to ${parsed.repo}: ${(e as Error)?.message ?? e}`);
        }
      }
      res.end();
      resolve();
    });
    req.pipe(child.stdin);
    child.stdin.on('error', () => {});
  });

}

/**
 * After receive-pack finished, emits a push event for every ref the request asked to update
 * that now points where the client wanted: refused updates (hooks, non-fast-forward) are not
 * announced, and the branch is the ref actually pushed.
 */
async function announceAcceptedUpdates(
  repo: string,
  commands: RefUpdateCommand[],
  options: SmartHttpOptions,
): Promise<void> {
  for (const cmd of commands) {
    let now: string | undefined;
    try {
      now = await options.host.resolveRef(repo, cmd.ref);
    } catch {
      continue; // a ref name git accepted but we would not resolve: not announced
    }
    const deleted = /^0+$/.test(cmd.after);
    if (deleted ? now !== undefined : now !== cmd.after) continue;
    options.logger?.info(
      `Push to ${repo} ${cmd.ref} ${cmd.before.slice(0, 10)}..${cmd.after.slice(0, 10)} by ${options.pusher ?? 'anonymous'} accepted`,
    );
    options.host.emitPush(
      {
        repo,
        ref: cmd.ref,
        before: /^0+$/.test(cmd.before) ? ZERO_SHA : cmd.before,
        after: deleted ? ZERO_SHA : cmd.after,
        pusher: options.pusher,
      },
      e => options.logger?.warn(`A push listener failed for ${repo} ${cmd.ref}: ${(e as Error)?.message ?? e}`),
    );
  }
}
