import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalGitHost } from '@devplane/plugin-git-host-node';
import { localSourceSnapshot } from './localSource';

jest.setTimeout(60_000);

describe('localSourceSnapshot', () => {
  let root: string;
  let host: LocalGitHost;

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-local-source-'));
    host = new LocalGitHost({ rootDir: root, baseUrl: 'http://localhost/repos' });
  });
  afterEach(() => fs.rm(root, { recursive: true, force: true }));

  it('reads the pushed commit: files, folders (nested, multi-byte), and missing ones', async () => {
    const created = await host.createRepo('ledger', {
      files: {
        'shuttle.yaml': 'plan: false\nvars:\n  service: ledger\n',
        'k8s/deployment.yaml': 'kind: Deployment # ø å æ ✓\n',
        'k8s/prod/replicas.yaml': 'replicas: 3\n',
        'k8s/empty.yaml': '',
        'README.md': '# Ledger\n',
      },
    });
    // a later commit on the branch: the snapshot stays at the pushed commit
    await host.commitFiles('ledger', { 'k8s/deployment.yaml': 'kind: Changed\n', 'k8s/new.yaml': 'x\n' }, { message: 'later' });
    const snap = await localSourceSnapshot(host, 'ledger', 'main', created.commit!);
    expect(snap.commit.sha).toBe(created.commit);
    expect(await snap.readFile('shuttle.yaml')).toBe('plan: false\nvars:\n  service: ledger\n');
    expect(await snap.readFile('nope.yaml')).toBeUndefined();
    const listed = await snap.listFiles('k8s');
    const read = Object.fromEntries(await Promise.all(listed.map(async f => [f.path, await f.read()])));
    expect(read).toEqual({
      'deployment.yaml': 'kind: Deployment # ø å æ ✓\n',
      'empty.yaml': '',
      'prod/replicas.yaml': 'replicas: 3\n',
    });
    expect(await snap.listFiles('missing')).toEqual([]);
    expect(await snap.readFile('k8s/deployment.yaml')).toBe('kind: Deployment # ø å æ ✓\n');
    await expect(snap.readFile('../config/README.md')).rejects.toThrow(/Invalid path/);
  });
});
