import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigReader } from '@backstage/config';
import { mockServices } from '@backstage/backend-test-utils';
import { UrlReaders } from '@backstage/backend-defaults/urlReader';
import { UrlReaderService } from '@backstage/backend-plugin-api';
import { LocalGitHostUrlReader } from './urlReader';
import { localGitHostFromConfig } from './service';
import { LocalGitHost } from './LocalGitHost';

const base = 'http://localhost:7007/api/git-host/repos';

describe('LocalGitHostUrlReader.readTree (what TechDocs reads)', () => {
  let root: string;
  let host: LocalGitHost;
  let reader: UrlReaderService;

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'git-host-tree-'));
    const config = new ConfigReader({
      backend: { baseUrl: 'http://localhost:7007' },
      gitHost: { rootDir: root },
    });
    host = localGitHostFromConfig(config);
    await host.createRepo('svc', {
      files: {
        'mkdocs.yml': 'site_name: svc\n',
        'docs/index.md': '# Hello\n',
        'docs/guide/setup.md': '# Setup\n',
      },
    });
    // Backstage's own UrlReaders with its real tar response factory, our reader registered as in the backend
    reader = UrlReaders.default({
      config,
      logger: mockServices.logger.mock(),
      factories: [LocalGitHostUrlReader.factory],
    });
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('reads the whole repository from the directory URL TechDocs resolves for dir:. (every time)', async () => {
    // the streamed version failed with TAR_BAD_ARCHIVE when git had exited before the archive was
    // read (TechDocs reads it after other awaits): read it late, several times
    for (let i = 0; i < 3; i++) {
      const res = await reader.readTree(`${base}/svc/blob/main/`);
      await new Promise(resolve => setTimeout(resolve, 300));
      const dir = await res.dir();
      expect(fs.readFileSync(path.join(dir, 'docs/index.md'), 'utf8')).toBe('# Hello\n');
      expect(fs.readFileSync(path.join(dir, 'mkdocs.yml'), 'utf8')).toBe('site_name: svc\n');
      expect(res.etag).toMatch(/^[0-9a-f]{40}$/);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a sub-directory and lists its files', async () => {
    const res = await reader.readTree(`${base}/svc/tree/main/docs`);
    const files = await res.files();
    expect(files.map(f => f.path).sort()).toEqual(['guide/setup.md', 'index.md']);
    const setup = files.find(f => f.path === 'guide/setup.md')!;
    expect((await setup.content()).toString()).toBe('# Setup\n');
  });

  it('answers NotModified for the same commit and NotFound for a missing directory or ref', async () => {
    const first = await reader.readTree(`${base}/svc/tree/main`);
    await expect(
      reader.readTree(`${base}/svc/tree/main`, { etag: first.etag }),
    ).rejects.toMatchObject({ name: 'NotModifiedError' });
    await expect(reader.readTree(`${base}/svc/tree/main/nope`)).rejects.toMatchObject({
      name: 'NotFoundError',
    });
    await expect(reader.readTree(`${base}/svc/tree/main/mkdocs.yml`)).rejects.toMatchObject({
      name: 'NotFoundError',
    });
    await expect(reader.readTree(`${base}/svc/tree/nobranch`)).rejects.toMatchObject({
      name: 'NotFoundError',
    });
  });
});
