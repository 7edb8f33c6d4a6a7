import crypto from 'node:crypto';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { ConfigReader } from '@backstage/config';
import { ScmIntegrations } from '@backstage/integration';
import { LocalGitHost } from '@devplane/plugin-git-host-node';
import { RepoHosts } from './repoHosts';
import { describeRollback, repoUndo, rollBack } from './rollback';
import { mockServices } from '@backstage/backend-test-utils';

// the GitHub stand-in is a real HTTP server and the local host runs git: 5 s is too short on a
// loaded 2-core machine
jest.setTimeout(60_000);

/** A stand-in for the parts of the GitHub REST API the golden path uses. */
async function startGithubStandIn() {
  const calls: Array<{
    method: string;
    path: string;
    body: any;
    auth?: string;
  }> = [];
  const repos = new Map<
    string,
    { default_branch: string; head: string; files: Record<string, string> }
  >();
  const commits = new Map<
    string,
    { tree: string; message: string; files: Record<string, string> }
  >();
  const trees = new Map<string, Record<string, string>>();
  /** Organisations that exist; any other answers 404 like GitHub. */
  const orgs = new Set(['acme']);
  /** The token's user (`GET /user`). */
  const login = 'ci-bot';
  /** Answers to force once, by `<METHOD> <path suffix>`, e.g. `POST /git/commits`. */
  const failOnce = new Map<string, { status: number; message: string }>();
  let n = 0;
  const sha = () => (++n).toString(16).padStart(40, '0');
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length
        ? JSON.parse(Buffer.concat(chunks).toString())
        : undefined;
      const url = new URL(req.url!, 'http://x');
      calls.push({
        method: req.method!,
        path: url.pathname,
        body,
        auth: req.headers.authorization,
      });
      const send = (status: number, data?: unknown): undefined => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(data === undefined ? '' : JSON.stringify(data));
        return undefined;
      };
      const p = url.pathname;
      // GitHub App: installations (app JWT) and installation access tokens
      if (req.method === 'GET' && p === '/app/installations') {
        return send(200, [
          { id: 4242, account: { login: 'acme' }, suspended_by: null },
        ]);
      }
      if (req.method === 'POST' && p === '/app/installations/4242/access_tokens') {
        return send(201, {
          token: 'ghs_installation_token',
          expires_at: new Date(Date.now() + 3600_000).toISOString(),
          repository_selection: 'all',
        });
      }
      for (const [key, answer] of failOnce) {
        const [method, suffix] = key.split(' ');
        if (req.method === method && p.endsWith(suffix)) {
          failOnce.delete(key);
          return send(answer.status, { message: answer.message });
        }
      }
      if (req.method === 'GET' && p === '/user') return send(200, { login });
      let org = /^\/orgs\/([^/]+)\/repos$/.exec(p);
      if (req.method === 'POST' && org && !orgs.has(org[1])) {
        return send(404, { message: 'Not Found' });
      }
      if (req.method === 'POST' && p === '/user/repos') {
        org = [p, login] as unknown as RegExpExecArray;
      }
      const m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(p);
      if (req.method === 'POST' && org) {
        const root = sha();
        const tree = sha();
        trees.set(tree, { 'README.md': '# init\n' });
        commits.set(root, {
          tree,
          message: 'Initial commit',
          files: trees.get(tree)!,
        });
        repos.set(`${org[1]}/${body.name}`, {
          default_branch: 'main',
          head: root,
          files: {},
        });
        return send(201, { name: body.name, default_branch: 'main' });
      }
      if (m) {
        const repo = repos.get(`${m[1]}/${m[2]}`);
        const rest = m[3] ?? '';
        if (!repo) return send(404, { message: 'Not Found' });
        if (req.method === 'GET' && rest === '')
          return send(200, { default_branch: repo.default_branch });
        if (req.method === 'DELETE' && rest === '') {
          repos.delete(`${m[1]}/${m[2]}`);
          return send(204);
        }
        if (req.method === 'GET' && rest === '/git/ref/heads/main')
          return send(200, { object: { sha: repo.head } });
        if (req.method === 'GET' && rest.startsWith('/git/commits/')) {
          return send(200, {
            sha: rest.slice(13),
            tree: { sha: commits.get(rest.slice(13))!.tree },
          });
        }
        if (req.method === 'POST' && rest === '/git/trees') {
          const files = { ...trees.get(body.base_tree) };
          for (const e of body.tree) files[e.path] = e.content;
          const t = sha();
          trees.set(t, files);
          return send(201, { sha: t });
        }
        if (req.method === 'POST' && rest === '/git/commits') {
          const c = sha();
          commits.set(c, {
            tree: body.tree,
            message: body.message,
            files: trees.get(body.tree)!,
          });
          return send(201, { sha: c });
        }
        if (req.method === 'PATCH' && rest === '/git/refs/heads/main') {
          repo.head = body.sha;
          return send(200, { object: { sha: body.sha } });
        }
        if (req.method === 'GET' && rest === '/commits/main') {
          const c = commits.get(repo.head)!;
          return send(200, {
            sha: repo.head,
            commit: {
              message: c.message,
              author: { name: 'A', email: 'a@x' },
              committer: { name: 'A', email: 'a@x' },
            },
          });
        }
        if (req.method === 'GET' && rest === '/git/trees/main') {
          const files = commits.get(repo.head)!.files;
          return send(200, {
            tree: Object.keys(files).map(path => ({
              path,
              type: 'blob',
              sha: Buffer.from(`${repo.head}:${path}`).toString('hex'),
            })),
          });
        }
        if (req.method === 'GET' && rest.startsWith('/git/blobs/')) {
          const [c, path] = Buffer.from(rest.slice(11), 'hex')
            .toString()
            .split(':');
          return send(200, {
            content: Buffer.from(commits.get(c)!.files[path]).toString(
              'base64',
            ),
            encoding: 'base64',
          });
        }
        return send(404, { message: `no route ${req.method} ${p}` });
      }
      return send(404, { message: 'Not Found' });
    });
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  return {
    apiBaseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    repos,
    failOnce,
    close: () => new Promise<void>(r => server.close(() => r())),
  };
}

describe('GithubRepoHost (against a GitHub REST stand-in)', () => {
  it('creates a repository, commits files in one commit, reads them back and deletes it', async () => {
    const gh = await startGithubStandIn();
    try {
      const integrations = ScmIntegrations.fromConfig(
        new ConfigReader({
          integrations: {
            github: [
              {
                host: 'github.example.com',
                apiBaseUrl: gh.apiBaseUrl,
                token: 'ghp_test',
              },
            ],
          },
        }),
      );
      const hosts = new RepoHosts(
        new LocalGitHost({ rootDir: '/nonexistent', baseUrl: 'http://x' }),
        integrations,
      );
      const host = hosts.get('github.example.com', 'acme');
      expect(await host.exists('payment-api')).toBe(false);
      const { commit } = await host.createRepo(
        'payment-api',
        {
          'k8s/prod/deployment.yaml': 'kind: Deployment\n',
          'ci/pipeline.sh': '#!/bin/sh\n',
        },
        { message: 'Create payment-api', description: 'Payments' },
      );
      expect(await host.exists('payment-api')).toBe(true);
      expect(
        gh.calls.find(c => c.method === 'POST' && c.path === '/orgs/acme/repos')
          ?.body,
      ).toMatchObject({
        name: 'payment-api',
        private: true,
        auto_init: true,
      });
      const treeCall = gh.calls.find(
        c => c.path.endsWith('/git/trees') && c.method === 'POST',
      )!;
      expect(treeCall.body.tree).toContainEqual(
        expect.objectContaining({
          path: 'ci/pipeline.sh',
          mode: '100755',
          type: 'blob',
        }),
      );
      expect(gh.calls.every(c => c.auth === 'Bearer ghp_test')).toBe(true);
      const head = await host.headCommit('payment-api');
      expect(head).toMatchObject({
        sha: commit,
        branch: 'main',
        message: 'Create payment-api',
      });
      expect(await host.readDir('payment-api', 'k8s')).toEqual({
        'prod/deployment.yaml': 'kind: Deployment\n',
      });
      expect(await host.fileUrl('payment-api', 'catalog-info.yaml')).toBe(
        'https://github.example.com/acme/payment-api/blob/main/catalog-info.yaml',
      );
      await expect(
        host.createRepo('payment-api', {}, { message: 'again' }),
      ).rejects.toThrow(/already exists/);
      expect(await host.deleteRepo('payment-api')).toBe(true);
      expect(await host.deleteRepo('payment-api')).toBe(false);
    } finally {
      await gh.close();
    }
  });

  function githubHost(apiBaseUrl: string, owner: string) {
    const integrations = ScmIntegrations.fromConfig(
      new ConfigReader({
        integrations: {
          github: [{ host: 'github.example.com', apiBaseUrl, token: 'ghp_test' }],
        },
      }),
    );
    return new RepoHosts(
      new LocalGitHost({ rootDir: '/nonexistent', baseUrl: 'http://x' }),
      integrations,
    ).get('github.example.com', owner);
  }

  it('a 404 on the organisation does not create the repository under the token user', async () => {
    const gh = await startGithubStandIn();
    try {
      const host = githubHost(gh.apiBaseUrl, 'ghost-org');
      await expect(
        host.createRepo('payment-api', { 'a.txt': 'a' }, { message: 'Create' }),
      ).rejects.toThrow(
        "Organisation 'ghost-org' was not found on github.example.com (or the token cannot create repositories in it); the repository was not created (not under the token's user 'ci-bot' either)",
      );
      expect(gh.calls.some(c => c.path === '/user/repos')).toBe(false);
      expect([...gh.repos.keys()]).toEqual([]);
      // when the owner is the token's own user, its account is the right place
      await githubHost(gh.apiBaseUrl, 'ci-bot').createRepo(
        'tool',
        { 'a.txt': 'a' },
        { message: 'Create' },
      );
      expect([...gh.repos.keys()]).toEqual(['ci-bot/tool']);
    } finally {
      await gh.close();
    }
  });

  it('a failed first commit does not leak the repository', async () => {
    const gh = await startGithubStandIn();
    try {
      const host = githubHost(gh.apiBaseUrl, 'acme');
      gh.failOnce.set('POST /git/commits', { status: 502, message: 'Bad Gateway' });
      await expect(
        host.createRepo('payment-api', { 'a.txt': 'a' }, { message: 'Create' }),
      ).rejects.toThrow(
        /^The first commit to acme\/payment-api failed: GitHub POST .*answered 502: .*Bad Gateway.*; the empty repository was deleted$/,
      );
      expect(gh.repos.has('acme/payment-api')).toBe(false);

      // and when that delete is refused too, the message says where the repository is
      gh.failOnce.set('POST /git/commits', { status: 502, message: 'Bad Gateway' });
      gh.failOnce.set('DELETE /payment-api', {
        status: 403,
        message: 'Must have admin rights to Repository.',
      });
      await expect(
        host.createRepo('payment-api', { 'a.txt': 'a' }, { message: 'Create' }),
      ).rejects.toThrow(
        /the empty repository https:\/\/github.example.com\/acme\/payment-api could not be deleted \(GitHub DELETE .* answered 403: .*Must have admin rights to Repository.*\); delete it by hand$/
      );
      expect(gh.repos.has('acme/payment-api')).toBe(true);
    } finally {
      await gh.close();
    }
  });

  it('a refused delete is reported for manual cleanup, not as rolled back', async () => {
    const gh = await startGithubStandIn();
    try {
      const host = githubHost(gh.apiBaseUrl, 'acme');
      await host.createRepo('payment-api', { 'a.txt': 'a' }, { message: 'Create' });
      gh.failOnce.set('DELETE /payment-api', {
        status: 403,
        message: 'Must have admin rights to Repository.',
      });
      const report = await rollBack(
        [repoUndo(host, 'payment-api')],
        mockServices.logger.mock(),
      );
      expect(report.undone).toEqual([]);
      expect(report.manual).toEqual([
        expect.stringMatching(
          /^repository payment-api on github.example.com \(could not remove it: .*403: .*Must have admin rights/,
        ),
      ]);
      expect(describeRollback(report)).not.toMatch(/Rolled back/);
      // a repository that is already gone is reported as such, not as removed by us
      gh.repos.delete('acme/payment-api');
      const again = await rollBack([repoUndo(host, 'payment-api')], mockServices.logger.mock());
      expect(again).toMatchObject({
        undone: [],
        gone: ['repository payment-api on github.example.com (was already gone)'],
      });
    } finally {
      await gh.close();
    }
  });

  it('needs an owner and a token', () => {
    const integrations = ScmIntegrations.fromConfig(
      new ConfigReader({
        integrations: {
          github: [{ host: 'github.example.com', apiBaseUrl: 'http://x' }],
        },
      }),
    );
    const hosts = new RepoHosts(
      new LocalGitHost({ rootDir: '/nonexistent', baseUrl: 'http://x' }),
      integrations,
    );
    expect(() => hosts.get('github.example.com', 'acme')).toThrow(
      /has no token and no GitHub App/,
    );
    expect(() => hosts.get('gitlab.example.com', 'acme')).toThrow(
      /No GitHub integration/,
    );
  });
});

describe('GithubRepoHost with a GitHub App (Backstage GitHub credentials provider)', () => {
  it('signs an app JWT, takes an installation token for the owner and uses it', async () => {
    const gh = await startGithubStandIn();
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', {
      modulusLength: 2048,
    });
    try {
      const integrations = ScmIntegrations.fromConfig(
        new ConfigReader({
          integrations: {
            github: [
              {
                host: 'github.example.com',
                apiBaseUrl: gh.apiBaseUrl,
                apps: [
                  {
                    appId: 123,
                    privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }),
                    clientId: 'Iv1.test',
                    clientSecret: 'secret',
                    webhookSecret: 'hook',
                  },
                ],
              },
            ],
          },
        }),
      );
      const hosts = new RepoHosts(
        new LocalGitHost({ rootDir: '/nonexistent', baseUrl: 'http://x' }),
        integrations,
      );
      const host = hosts.get('github.example.com', 'acme');
      await host.createRepo('ledger', { 'README.md': '# ledger\n' }, { message: 'Create ledger' });

      // the app authenticated as itself with a JWT signed by its private key ...
      const appCall = gh.calls.find(c => c.path === '/app/installations')!;
      const jwt = appCall.auth!.replace(/^bearer /i, '');
      const [header, payload, signature] = jwt.split('.');
      expect(
        crypto.verify(
          'RSA-SHA256',
          Buffer.from(`${header}.${payload}`),
          publicKey,
          Buffer.from(signature, 'base64url'),
        ),
      ).toBe(true);
      expect(JSON.parse(Buffer.from(payload, 'base64url').toString())).toMatchObject({ iss: 123 });
      // ... and every repository call used the installation token, not the JWT
      const repoCalls = gh.calls.filter(c => c.path.startsWith('/orgs/') || c.path.startsWith('/repos/'));
      expect(repoCalls.length).toBeGreaterThan(2);
      expect(repoCalls.every(c => c.auth === 'Bearer ghs_installation_token')).toBe(true);
      expect(gh.calls.filter(c => c.path.endsWith('/access_tokens'))).toHaveLength(1);
    } finally {
      await gh.close();
    }
  });

  it('refuses an owner the app is not installed for, before any repository call', async () => {
    const gh = await startGithubStandIn();
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    try {
      const hosts = new RepoHosts(
        new LocalGitHost({ rootDir: '/nonexistent', baseUrl: 'http://x' }),
        ScmIntegrations.fromConfig(
          new ConfigReader({
            integrations: {
              github: [
                {
                  host: 'github.example.com',
                  apiBaseUrl: gh.apiBaseUrl,
                  apps: [
                    {
                      appId: 123,
                      privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }),
                      clientId: 'Iv1.test',
                      clientSecret: 'secret',
                      webhookSecret: 'hook',
                    },
                  ],
                },
              ],
            },
          }),
        ),
      );
      await expect(hosts.get('github.example.com', 'other-org').exists('x')).rejects.toThrow(
        /No GitHub credentials for github.example.com\/other-org: neither a token nor a GitHub App installed there/,
      );
      expect(gh.calls.some(c => c.path.startsWith('/repos/') || c.path.startsWith('/orgs/'))).toBe(false);
    } finally {
      await gh.close();
    }
  });
});

