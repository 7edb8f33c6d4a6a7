import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { createBackendPlugin } from '@backstage/backend-plugin-api';
import { gitHostServiceRef, runGit } from '@devplane/plugin-git-host-node';
import { gitHostPlugin } from './plugin';

describe('git host plugin', () => {
  let dataDir: string;
  let seedDir: string;
  let work: string;

  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'git-host-data-'));
    seedDir = fs.mkdtempSync(path.join(os.tmpdir(), 'git-host-seed-'));
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'git-host-work-'));
    fs.mkdirSync(path.join(seedDir, 'payment-gateway', 'k8s'), { recursive: true });
    fs.writeFileSync(path.join(seedDir, 'payment-gateway', 'shuttle.yaml'), 'vars:\n  squad: payments\n');
    fs.writeFileSync(path.join(seedDir, 'payment-gateway', 'k8s', 'service.yaml'), 'kind: Service\n');
  });
  afterEach(() => {
    for (const d of [dataDir, seedDir, work]) fs.rmSync(d, { recursive: true, force: true });
  });

  async function start(allowPush: boolean) {
    const backend = await startTestBackend({
      features: [
        gitHostPlugin,
        mockServices.rootConfig.factory({
          data: {
            backend: { baseUrl: 'http://localhost:7007' },
            devplane: { dataDir },
            gitHost: { allowPush, seedFrom: seedDir },
          },
        }),
      ],
    });
    // the test backend listens on a random port: point the clone URL at it
    const base = `http://localhost:${backend.server.port()}/api/git-host/repos`;
    return { backend, base };
  }

  // (the test backend's mock httpAuth treats a request without a token as a signed-in user, so
  // the pushes here are authenticated; push.test.ts covers anonymous and refused pushes)
  it('seeds repositories, lists them, serves files and lets git clone and push over HTTP', async () => {
    const { backend, base } = await start(true);
    try {
      const list = await fetch(`${base}`).then(r => r.json());
      expect(list.items.map((i: any) => i.name)).toEqual(['payment-gateway']);

      const raw = await fetch(`${base}/payment-gateway/blob/main/shuttle.yaml`);
      expect(raw.status).toBe(200);
      expect(raw.headers.get('etag')).toMatch(/^"[0-9a-f]{40}"$/);
      expect(await raw.text()).toBe('vars:\n  squad: payments\n');

      const clone = path.join(work, 'clone');
      await runGit(['clone', '--quiet', `${base}/payment-gateway.git`, clone]);
      expect(fs.readFileSync(path.join(clone, 'k8s', 'service.yaml'), 'utf8')).toBe('kind: Service\n');

      fs.writeFileSync(path.join(clone, 'README.md'), '# hello\n');
      await runGit(['add', '.'], { cwd: clone });
      await runGit(['commit', '--quiet', '-m', 'add readme'], { cwd: clone });
      await runGit(['push', '--quiet', 'origin', 'main'], { cwd: clone });

      const pushed = await fetch(`${base}/payment-gateway/blob/main/README.md`);
      expect(await pushed.text()).toBe('# hello\n');
    } finally {
      await backend.stop();
    }
  });

  it('refuses pushes when allowPush is off, and answers 400/404 for bad paths', async () => {
    const { backend, base } = await start(false);
    try {
      const clone = path.join(work, 'clone');
      await runGit(['clone', '--quiet', `${base}/payment-gateway.git`, clone]);
      fs.writeFileSync(path.join(clone, 'x'), 'x');
      await runGit(['add', '.'], { cwd: clone });
      await runGit(['commit', '--quiet', '-m', 'x'], { cwd: clone });
      await expect(runGit(['push', '--quiet', 'origin', 'main'], { cwd: clone })).rejects.toThrow(/403|disabled/);

      const refs = await fetch(`${base}/payment-gateway.git/info/refs?service=git-receive-pack`);
      expect(refs.status).toBe(403);
      expect(await refs.text()).toMatch(/Pushing to the local git host is disabled/);

      expect((await fetch(`${base}/missing.git/info/refs?service=git-upload-pack`)).status).toBe(404);
      expect((await fetch(`${base}/payment-gateway.git/objects/info/packs`)).status).toBe(400);
      expect((await fetch(`${base}/payment-gateway/blob/main/..%2F..%2Fetc%2Fpasswd`)).status).toBe(400);
      expect((await fetch(`${base}/payment-gateway/blob/main/missing.txt`)).status).toBe(404);
    } finally {
      await backend.stop();
    }
  });
});

describe('git host push events', () => {
  it('announces each accepted ref update once, with the branch actually pushed, and not a refused one', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'git-host-data-'));
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'git-host-work-'));
    const events: any[] = [];
    const backend = await startTestBackend({
      features: [
        gitHostPlugin,
        mockServices.rootConfig.factory({
          data: { backend: { baseUrl: 'http://localhost:7007' }, devplane: { dataDir }, gitHost: { allowPush: true } },
        }),
        // a second plugin that subscribes like the release manager does
        createBackendPlugin({
          pluginId: 'listener',
          register(env) {
            env.registerInit({
              deps: { gitHost: gitHostServiceRef },
              async init({ gitHost }) {
                await gitHost.createRepo('svc', { files: { 'a.txt': '1' } });
                gitHost.onPush(e => {
                  events.push(e);
                });
              },
            });
          },
        }),
      ],
    });
    try {
      const base = `http://localhost:${backend.server.port()}/api/git-host/repos`;
      const clone = path.join(work, 'clone');
      await runGit(['clone', '--quiet', `${base}/svc.git`, clone]);
      const before = (await runGit(['rev-parse', 'HEAD'], { cwd: clone })).stdout.trim();
      fs.writeFileSync(path.join(clone, 'b.txt'), '2');
      await runGit(['add', '.'], { cwd: clone });
      await runGit(['commit', '--quiet', '-m', 'two'], { cwd: clone });
      const after = (await runGit(['rev-parse', 'HEAD'], { cwd: clone })).stdout.trim();
      await runGit(['push', '--quiet', 'origin', 'main', 'HEAD:refs/heads/feature/x'], { cwd: clone });
      // the pusher comes from the request's credentials (the test backend's mock auth names a mock user)
      expect(events).toEqual(
        expect.arrayContaining([
          { repo: 'svc', ref: 'refs/heads/main', before, after, pusher: 'user:default/mock' },
          { repo: 'svc', ref: 'refs/heads/feature/x', before: '0'.repeat(40), after, pusher: 'user:default/mock' },
        ]),
      );
      expect(events).toHaveLength(2);

      // a non-fast-forward update is refused by the host: no event
      await runGit(['reset', '--quiet', '--hard', before], { cwd: clone });
      fs.writeFileSync(path.join(clone, 'c.txt'), '3');
      await runGit(['add', '.'], { cwd: clone });
      await runGit(['commit', '--quiet', '-m', 'diverged'], { cwd: clone });
      await expect(runGit(['push', '--quiet', '--force', 'origin', 'main'], { cwd: clone })).rejects.toThrow();
      expect(events).toHaveLength(2);
    } finally {
      await backend.stop();
      for (const d of [dataDir, work]) fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
