import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mockCredentials, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
// the real git host plugin serves the pushes this test makes (no stand-in for our own component)
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import gitHostPlugin from '@devplane/plugin-git-host-backend';
import { LocalGitHost, runGit } from '@devplane/plugin-git-host-node';
import { ARTIFACT_ID_ANNOTATION } from '@devplane/plugin-release-manager-common';
import request from 'supertest';
import { releaseManagerTestFeatures } from '../testing';

jest.setTimeout(120_000);

const ALICE = 'user:default/alice';
const WEBHOOK_SECRET = 'test-webhook-secret';

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: payment-gateway
  labels: {squad: "{{ .Vars.squad }}"}
spec:
  replicas: {{ .Vars.k8s.replicas }}
  template:
    metadata:
      labels: {app: payment-gateway}
    spec:
      containers:
        - name: payment-gateway
          image: registry.example.com/payments/payment-gateway:IMAGE_TAG
`;

async function eventually<T>(check: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() - start > timeoutMs) throw e;
      await new Promise(r => setTimeout(r, 100));
    }
  }
}

describe('push → artifact → auto-release', () => {
  let dataDir: string;
  let work: string;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  let base: string;
  let host: LocalGitHost;
  const send = jest.fn(async () => {});
  const api = (p: string) => `/api/release-manager${p}`;

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-push-'));
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-push-work-'));
    const seed = path.join(dataDir, 'seed');
    for (const repo of ['payment-gateway', 'impostor']) {
      await fs.mkdir(path.join(seed, repo, 'k8s'), { recursive: true });
      await fs.writeFile(
        path.join(seed, repo, 'shuttle.yaml'),
        'plan: false\nvars:\n  service: payment-gateway\n  squad: payments\n  k8s:\n    namespace: payments\n    replicas: 2\n',
      );
      await fs.writeFile(path.join(seed, repo, 'k8s', 'deployment.yaml'), DEPLOYMENT);
    }
    backend = await startTestBackend({
      features: releaseManagerTestFeatures({
        dataDir,
        releaseManager: { push: { github: { webhookSecret: WEBHOOK_SECRET } } },
        config: { gitHost: { allowPush: true, seedFrom: seed } },
        catalog: catalogServiceMock.factory({
          entities: [
            {
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'User',
              metadata: { name: 'alice', namespace: 'default' },
              spec: { profile: { email: 'alice@bank.example', displayName: 'Alice' }, memberOf: ['payments'] },
            },
          ],
        }),
        send,
        features: [gitHostPlugin],
      }),
    });
    base = `http://localhost:${backend.server.port()}/api/git-host/repos`;
    host = new LocalGitHost({ rootDir: path.join(dataDir, 'git'), baseUrl: 'http://localhost:7007/api/git-host/repos' });
    const policy = await request(backend.server)
      .put(api('/services/payment-gateway/policies/auto-releases'))
      .set('Authorization', mockCredentials.user.header(ALICE))
      .send({ branch: 'main', environment: 'dev' });
    if (policy.status !== 200) throw new Error(`policy setup failed: ${JSON.stringify(policy.body)}`);
  });

  afterAll(async () => {
    await backend?.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
    await fs.rm(work, { recursive: true, force: true });
  });

  async function pushCommit(repo: string, branch: string, file: string, content: string, message: string) {
    const clone = path.join(work, `${repo}-${crypto.randomUUID()}`);
    await runGit(['clone', '--quiet', `${base}/${repo}.git`, clone]);
    await runGit(['checkout', '--quiet', '-B', branch], { cwd: clone });
    await fs.mkdir(path.dirname(path.join(clone, file)), { recursive: true });
    await fs.writeFile(path.join(clone, file), content);
    await runGit(['add', '.'], { cwd: clone });
    await runGit(['commit', '--quiet', '-m', message], {
      cwd: clone,
      env: { GIT_AUTHOR_NAME: 'Anna Jensen', GIT_AUTHOR_EMAIL: 'anna@bank.example' },
    });
    const sha = (await runGit(['rev-parse', 'HEAD'], { cwd: clone })).stdout.trim();
    await runGit(['push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`], { cwd: clone });
    return sha;
  }

  async function pushesOf(service: string) {
    const res = await request(backend.server)
      .get(api(`/services/${service}/pushes`))
      .set('Authorization', mockCredentials.user.header(ALICE));
    expect(res.status).toBe(200);
    return res.body.items as any[];
  }

  const configHead = async () =>
    (await runGit(['rev-parse', 'main'], { cwd: host.repoPath('config') })).stdout.trim();

  it('turns a push to main into an artifact with the pushed sha as image tag, released to dev by policy', async () => {
    const sha = await pushCommit('payment-gateway', 'main', 'README.md', '# changed\n', 'Faster settlement');
    const progress = await eventually(async () => {
      const p = (await pushesOf('payment-gateway')).find(i => i.sha === sha);
      expect(p?.state).toBe('released');
      return p;
    });
    expect(progress.branch).toBe('main');
    expect(progress.imageBuilt).toBe(false);
    expect(progress.steps.map((s: any) => `${s.step}:${s.status}`)).toEqual(['received:done', 'artifact:done', 'release:dev:done']);
    expect(progress.steps[0].message).toMatch(/No container image is built/);

    const artifact = await request(backend.server)
      .get(api(`/services/payment-gateway/artifacts/${progress.artifactId}`))
      .set('Authorization', mockCredentials.user.header(ALICE));
    expect(artifact.body).toMatchObject({
      branch: 'main',
      sha,
      message: 'Faster settlement',
      authorEmail: 'anna@bank.example',
      // the pusher (the mock user) owns nothing and is no configured uploader: the uploader
      // guardrail leaves production out of the artifact (it can never be promoted there)
      environments: ['dev', 'staging'],
    });
    // the uploader is the pusher from the push's credentials (the test backend's mock user)
    expect(artifact.body.createdBy).toBe('user:default/mock');

    const status = await request(backend.server)
      .get(api('/services/payment-gateway/status'))
      .set('Authorization', mockCredentials.user.header(ALICE));
    const byEnv = Object.fromEntries(status.body.map((s: any) => [s.environment, s.release?.artifactId]));
    expect(byEnv.dev).toBe(progress.artifactId);
    expect(byEnv.prod).toBeUndefined();

    const written = (await host.readFile('config', 'dev/releases/payments/payment-gateway/deployment.yaml')).content.toString();
    expect(written).toContain(`image: registry.example.com/payments/payment-gateway:${sha}`);
    expect(written).toContain('replicas: 2');
    expect(written).toContain(`${ARTIFACT_ID_ANNOTATION}: ${progress.artifactId}`);
    expect(send).toHaveBeenCalledWith(
      expect.objectContaining({
        recipients: { type: 'entity', entityRef: 'group:default/payments' },
        payload: expect.objectContaining({ title: expect.stringMatching(/push to main .* received/) }),
      }),
    );
  });

  it('creates an artifact from a feature branch without releasing it (no policy matches)', async () => {
    const sha = await pushCommit('payment-gateway', 'feature/x', 'notes.txt', 'x\n', 'Try something');
    const progress = await eventually(async () => {
      const p = (await pushesOf('payment-gateway')).find(i => i.sha === sha);
      expect(p?.steps.some((s: any) => s.step === 'release')).toBe(true);
      return p;
    });
    expect(progress.branch).toBe('feature/x');
    expect(progress.state).toBe('artifact-created');
    expect(progress.artifactId).toMatch(/^feature-x-/);
  });

  it('refuses a push whose manifests use an undefined shuttle var, naming it, and writes nothing', async () => {
    const before = await configHead();
    const sha = await pushCommit('payment-gateway', 'main', 'k8s/extra.yaml', 'kind: ConfigMap\ndata: {x: "{{ .Vars.nope }}"}\n', 'Broken');
    const progress = await eventually(async () => {
      const p = (await pushesOf('payment-gateway')).find(i => i.sha === sha);
      expect(p?.state).toBe('refused');
      return p;
    });
    expect(progress.steps[1].message).toMatch(/\.Vars\.nope/);
    expect(await configHead()).toBe(before);
    const list = await request(backend.server)
      .get(api('/services/payment-gateway/artifacts?branch=main'))
      .set('Authorization', mockCredentials.user.header(ALICE));
    expect(list.body.items.some((a: any) => a.sha === sha)).toBe(false);
  });

  it('refuses a repository that claims another service in its shuttle.yaml', async () => {
    const before = await configHead();
    const sha = await pushCommit('impostor', 'main', 'x.txt', 'x', 'Pretend');
    const progress = await eventually(async () => {
      const p = (await pushesOf('payment-gateway')).find(i => i.sha === sha);
      expect(p?.state).toBe('refused');
      return p;
    });
    expect(progress.steps[1].message).toMatch(/impostor is not its repository/);
    expect(await configHead()).toBe(before);
  });

  it('verifies the GitHub webhook signature before reading anything', async () => {
    const body = JSON.stringify({ zen: 'hi' });
    const sign = (b: string) => `sha256=${crypto.createHmac('sha256', WEBHOOK_SECRET).update(b).digest('hex')}`;
    const bad = await request(backend.server)
      .post(api('/webhooks/github'))
      .set('X-GitHub-Event', 'ping')
      .set('X-Hub-Signature-256', sign('other'))
      .set('Content-Type', 'application/json')
      .send(body);
    expect(bad.status).toBe(403);
    const ping = await request(backend.server)
      .post(api('/webhooks/github'))
      .set('X-GitHub-Event', 'ping')
      .set('X-Hub-Signature-256', sign(body))
      .set('Content-Type', 'application/json')
      .send(body);
    expect(ping.status).toBe(200);
    const invalid = JSON.stringify({ ref: 'refs/heads/main', after: 'nope', repository: { full_name: 'a/b', html_url: 'https://github.com/a/b' }, sender: { login: 'x' } });
    const refused = await request(backend.server)
      .post(api('/webhooks/github'))
      .set('X-GitHub-Event', 'push')
      .set('X-Hub-Signature-256', sign(invalid))
      .set('Content-Type', 'application/json')
      .send(invalid);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/after must be a commit sha/);
  });
  it('long-polls the push progress: answers when a step is recorded, not after a fixed interval', async () => {
    const pushes = async (query = '') =>
      request(backend.server)
        .get(api(`/services/payment-gateway/pushes${query}`))
        .set('Authorization', mockCredentials.user.header(ALICE));
    const before = (await pushes()).body.items as Array<{ updatedAt: string }>;
    const seen = before.reduce((max, p) => (p.updatedAt > max ? p.updatedAt : max), new Date(0).toISOString());
    // nothing changes: the answer comes after waitMs with the same records
    const idle = await pushes(`?changedAfter=${encodeURIComponent(seen)}&waitMs=300`);
    expect(idle.status).toBe(200);
    expect(idle.body.items.map((p: any) => p.updatedAt)).toEqual(before.map(p => p.updatedAt));
    // a request waiting (up to 10 s) answers with the push made while it waits
    const waiting = pushes(`?changedAfter=${encodeURIComponent(seen)}&waitMs=10000`);
    const sha = await pushCommit('payment-gateway', 'main', 'LONGPOLL.md', 'x\n', 'Long poll');
    const answered = await waiting;
    expect(answered.status).toBe(200);
    const newest = answered.body.items[0];
    expect(newest.sha).toBe(sha);
    expect(newest.updatedAt > seen).toBe(true);
    // bad parameters are refused, naming the field
    const badTime = await pushes('?changedAfter=yesterday&waitMs=10');
    expect(badTime.status).toBe(400);
    expect(badTime.body.error.message).toMatch(/^changedAfter:/);
    const badWait = await pushes(`?changedAfter=${encodeURIComponent(seen)}&waitMs=60000`);
    expect(badWait.status).toBe(400);
    expect(badWait.body.error.message).toMatch(/^waitMs:/);
  });
});
