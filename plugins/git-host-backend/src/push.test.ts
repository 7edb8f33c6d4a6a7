import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { GitCommandError, runGit } from '@devplane/plugin-git-host-node';
import { gitHostPlugin } from './plugin';

// The push boundary against the real git host over HTTP with the real git CLI: the backend's
// httpAuth reads Backstage tokens (mock tokens of the test backend), git http-backend serves.
describe('git host push boundary', () => {
  let dataDir: string;
  let seedDir: string;
  let work: string;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  let base: string;
  let port: number;

  const gitDir = (repo: string) => path.join(dataDir, 'git', `${repo}.git`);
  const head = async (repo: string, ref = 'refs/heads/main') =>
    (await runGit(['rev-parse', ref], { cwd: gitDir(repo) })).stdout.trim();
  /** A clone URL carrying a Backstage token as the Basic password (what a credential helper sends). */
  const withToken = (repo: string, token: string) =>
    `http://git:${encodeURIComponent(token)}@localhost:${port}/api/git-host/repos/${repo}.git`;
  const gitFails = async (args: string[], cwd: string) => {
    const e = await runGit(args, { cwd }).then(
      () => undefined,
      err => err,
    );
    expect(e).toBeInstanceOf(GitCommandError);
    return (e as GitCommandError).stderr;
  };
  async function commitIn(clone: string, file: string) {
    fs.writeFileSync(path.join(clone, file), file);
    await runGit(['add', '.'], { cwd: clone });
    await runGit(['commit', '--quiet', '-m', `add ${file}`], { cwd: clone });
  }

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'git-push-data-'));
    seedDir = fs.mkdtempSync(path.join(os.tmpdir(), 'git-push-seed-'));
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'git-push-work-'));
    for (const repo of ['payment-gateway', 'config']) {
      fs.mkdirSync(path.join(seedDir, repo), { recursive: true });
      fs.writeFileSync(path.join(seedDir, repo, 'README.md'), `# ${repo}\n`);
    }
    backend = await startTestBackend({
      features: [
        gitHostPlugin,
        // a request without a token is anonymous (the mock's default would be a signed-in user)
        mockServices.httpAuth.factory({ defaultCredentials: mockCredentials.none() }),
        mockServices.rootConfig.factory({
          data: {
            backend: { baseUrl: 'http://localhost:7007' },
            devplane: { dataDir },
            gitHost: { allowPush: true, seedFrom: seedDir },
          },
        }),
      ],
    });
    port = backend.server.port();
    base = `http://localhost:${port}/api/git-host/repos`;
  });
  afterAll(async () => {
    await backend.stop();
    for (const d of [dataDir, seedDir, work]) fs.rmSync(d, { recursive: true, force: true });
  });

  it('lets anyone clone, refuses an anonymous push with 401 and a message git shows', async () => {
    const clone = path.join(work, 'anon');
    await runGit(['clone', '--quiet', `${base}/payment-gateway.git`, clone]);
    await commitIn(clone, 'anon.txt');
    const before = await head('payment-gateway');

    const refs = await fetch(`${base}/payment-gateway.git/info/refs?service=git-receive-pack`);
    expect(refs.status).toBe(401);
    expect(refs.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    expect(await refs.text()).toMatch(/Pushing needs a Backstage token/);

    // no credentials at all: git cannot answer the 401
    expect(await gitFails(['push', 'origin', 'main'], clone)).toMatch(/401|could not read Username|Authentication failed/);
    // a wrong token: git prints our message as `remote: …`
    const stderr = await gitFails(['push', withToken('payment-gateway', 'not-a-token'), 'main'], clone);
    expect(stderr).toMatch(/remote: Pushing needs a valid Backstage token/);
    expect(stderr).toMatch(/Authentication failed/);
    expect(await head('payment-gateway')).toBe(before);
  });

  it('accepts a push with a user token (Basic password or Bearer header) and a service token', async () => {
    const clone = path.join(work, 'user');
    await runGit(['clone', '--quiet', `${base}/payment-gateway.git`, clone]);
    await commitIn(clone, 'alice.txt');
    await runGit(['push', '--quiet', withToken('payment-gateway', mockCredentials.user.token('user:default/alice')), 'main'], { cwd: clone });
    expect(await head('payment-gateway')).toBe((await runGit(['rev-parse', 'HEAD'], { cwd: clone })).stdout.trim());

    await commitIn(clone, 'bearer.txt');
    await runGit(
      ['-c', `http.extraHeader=Authorization: ${mockCredentials.user.header('user:default/alice')}`, 'push', '--quiet', 'origin', 'main'],
      { cwd: clone },
    );
    await commitIn(clone, 'ci.txt');
    // a service principal (CI's external-access token)
    await runGit(['push', '--quiet', withToken('payment-gateway', mockCredentials.service.token()), 'main'], { cwd: clone });
    expect(await head('payment-gateway')).toBe((await runGit(['rev-parse', 'HEAD'], { cwd: clone })).stdout.trim());
    const blob = await fetch(`${base}/payment-gateway/blob/main/ci.txt`);
    expect(await blob.text()).toBe('ci.txt');
  });

  it('refuses every push to the config repo, even for platform, whatever allowPush says', async () => {
    const clone = path.join(work, 'config');
    await runGit(['clone', '--quiet', `${base}/config.git`, clone]);
    await commitIn(clone, 'evil.yaml');
    const before = await head('config');
    for (const token of [mockCredentials.user.token('user:default/pat'), mockCredentials.service.token()]) {
      const stderr = await gitFails(['push', withToken('config', token), 'main'], clone);
      expect(stderr).toMatch(/remote: Pushing to 'config' is refused: it is the release manager's config repo/);
      expect(stderr).toMatch(/403/);
    }
    const refs = await fetch(`${base}/config.git/info/refs?service=git-receive-pack`, {
      headers: { Authorization: mockCredentials.user.header('user:default/pat') },
    });
    expect(refs.status).toBe(403);
    const post = await fetch(`${base}/config.git/git-receive-pack`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-git-receive-pack-request' },
      body: '0000',
    });
    expect(post.status).toBe(403);
    expect(await head('config')).toBe(before);
    expect((await runGit(['ls-tree', '-r', '--name-only', 'HEAD'], { cwd: gitDir('config') })).stdout.trim()).toBe('README.md');
  });

  it('refuses force-pushing and deleting the default branch; other branches stay the pusher’s', async () => {
    const token = mockCredentials.user.token('user:default/alice');
    const url = withToken('payment-gateway', token);
    const clone = path.join(work, 'force');
    await runGit(['clone', '--quiet', url, clone]);
    const before = await head('payment-gateway');

    // rewrite history: amend the last commit and force-push
    await runGit(['commit', '--quiet', '--amend', '-m', 'rewritten'], { cwd: clone });
    const forced = await gitFails(['push', '--force', 'origin', 'main'], clone);
    expect(forced).toMatch(/non-fast-forward|rejected/);
    expect(await head('payment-gateway')).toBe(before);

    const deleted = await gitFails(['push', 'origin', ':main'], clone);
    expect(deleted).toMatch(/refusing to delete the default branch 'main'/);
    expect(await head('payment-gateway')).toBe(before);

    // a feature branch may be created and deleted
    await runGit(['push', '--quiet', 'origin', 'HEAD:refs/heads/feature-x'], { cwd: clone });
    expect(await head('payment-gateway', 'refs/heads/feature-x')).toMatch(/^[0-9a-f]{40}$/);
    await runGit(['push', '--quiet', 'origin', ':feature-x'], { cwd: clone });
    await expect(head('payment-gateway', 'refs/heads/feature-x')).rejects.toThrow();
  });

  it('refuses a non-fast-forward update of the default branch even where the repository config allows it', async () => {
    // a repository created before receive.denyNonFastForwards was set: the hook still protects main
    await runGit(['config', 'receive.denyNonFastForwards', 'false'], { cwd: gitDir('payment-gateway') });
    const clone = path.join(work, 'force2');
    await runGit(['clone', '--quiet', withToken('payment-gateway', mockCredentials.user.token('user:default/alice')), clone]);
    const before = await head('payment-gateway');
    await runGit(['commit', '--quiet', '--amend', '-m', 'rewritten again'], { cwd: clone });
    const stderr = await gitFails(['push', '--force', 'origin', 'main'], clone);
    expect(stderr).toMatch(/refusing a non-fast-forward update of the default branch 'main'/);
    expect(await head('payment-gateway')).toBe(before);
  });
});
