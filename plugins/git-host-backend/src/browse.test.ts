import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { gitHostPlugin } from './plugin';

describe('git host browse URLs ("View source")', () => {
  let dataDir: string;
  let seedDir: string;

  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'git-host-data-'));
    seedDir = fs.mkdtempSync(path.join(os.tmpdir(), 'git-host-seed-'));
    fs.mkdirSync(path.join(seedDir, 'svc', 'docs'), { recursive: true });
    fs.writeFileSync(path.join(seedDir, 'svc', 'README.md'), '# svc\n');
    fs.writeFileSync(path.join(seedDir, 'svc', 'docs', 'index.html'), '<script>alert(1)</script>\n');
  });
  afterEach(() => {
    for (const d of [dataDir, seedDir]) fs.rmSync(d, { recursive: true, force: true });
  });

  async function start() {
    const backend = await startTestBackend({
      features: [
        gitHostPlugin,
        mockServices.rootConfig.factory({
          data: {
            app: { baseUrl: 'http://portal.example:3000' },
            backend: { baseUrl: 'http://localhost:7007' },
            devplane: { dataDir },
            gitHost: { seedFrom: seedDir },
          },
        }),
      ],
    });
    return { backend, base: `http://localhost:${backend.server.port()}/api/git-host/repos` };
  }

  it('sends a browser to the portal repository browser, and serves JSON and raw files to programs', async () => {
    const { backend, base } = await start();
    try {
      const page = { redirect: 'manual' as const, headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } };
      // the catalog's source location is the repository root as a blob URL
      let res = await fetch(`${base}/svc/blob/main/`, page);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('http://portal.example:3000/git-host/svc/tree/main');
      res = await fetch(`${base}/svc/blob/main/docs/index.html`, page);
      expect(res.headers.get('location')).toBe('http://portal.example:3000/git-host/svc/blob/main/docs/index.html');

      // the portal's own fetch (Accept */*) and ?raw get the data
      const tree = await fetch(`${base}/svc/blob/main/`).then(r => r.json());
      expect(tree.files.sort()).toEqual(['README.md', 'docs/index.html']);
      expect(tree.commit).toMatch(/^[0-9a-f]{40}$/);
      res = await fetch(`${base}/svc/blob/main/docs/index.html?raw`, page);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await res.text()).toBe('<script>alert(1)</script>\n');

      // bad input is a 4xx naming the problem, never a redirect
      res = await fetch(`${base}/svc/blob/-c/README.md`, page);
      expect(res.status).toBe(400);
      res = await fetch(`${base}/nope/tree/main`, page);
      expect(res.status).toBe(302); // the page shows "not found" itself
      res = await fetch(`${base}/nope/tree/main`);
      expect(res.status).toBe(404);
    } finally {
      await backend.stop();
    }
  });
});
