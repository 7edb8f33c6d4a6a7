import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { runGit } from '@devplane/plugin-git-host-node';
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
