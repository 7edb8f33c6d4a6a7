import fs from 'node:fs/promises';
import fsSync from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalGitHost, runGit } from '@devplane/plugin-git-host-node';
import { GitOpsWriter } from './GitOpsWriter';
import { OpenPgpCommitSigner } from './Signer';
import { claimWorkDir } from './workDirs';

jest.setTimeout(60_000);

describe('a config repo clone that lasts years', () => {
  let root: string;
  let remote: string;

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-maint-'));
    const host = new LocalGitHost({ rootDir: path.join(root, 'git'), baseUrl: 'http://localhost/repos' });
    await host.createRepo('config', { files: { 'README.md': 'config\n' } });
    remote = host.repoPath('config');
  });
  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  const job = (rel: string, content: string) => ({
    apply: async (tree: any) => {
      await tree.writeFile(rel, content);
      return { result: rel, commit: { message: `write ${rel}\n`, paths: [rel] } };
    },
  });

  it('writes again after a kill -9 left ref and index locks behind; gc keeps signed history intact', async () => {
    const signer = await OpenPgpCommitSigner.fromGnupgHome({ gnupgHome: path.join(root, 'gnupg'), name: 'RM', email: 'rm@x' });
    const workDir = path.join(root, 'work');
    const w1 = await GitOpsWriter.create({ workDir, remoteUrl: remote });
    w1.configureTrust({ signer });
    await w1.write(job('a/one.txt', '1\n'));
    // What a process killed mid-write leaves: ref, index and packed-refs locks.
    await fs.writeFile(path.join(workDir, '.git', 'refs', 'heads', 'main.lock'), '');
    await fs.writeFile(path.join(workDir, '.git', 'index.lock'), '');
    await fs.writeFile(path.join(workDir, '.git', 'packed-refs.lock'), '');
    const w2 = await GitOpsWriter.create({ workDir, remoteUrl: remote });
    w2.configureTrust({ signer });
    const r = await w2.write(job('a/two.txt', '2\n'));
    expect(r.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(fsSync.existsSync(path.join(workDir, '.git', 'refs', 'heads', 'main.lock'))).toBe(false);

    const counted = async (what: 'count' | 'packs') =>
      Number((await runGit(['count-objects', '-v'], { cwd: workDir })).stdout.match(new RegExp(`^${what}: (\\d+)`, 'm'))![1]);
    const loose = () => counted('count');
    // Each write's objects are one pack (the loose ones are the first fetch's); maintenance
    // packs those and rolls the small packs up.
    const packsBefore = await counted('packs');
    expect(packsBefore).toBe(2); // one per write
    await w2.maintain();
    expect(await loose()).toBe(0);
    expect(await counted('packs')).toBeLessThan(packsBefore);
    for (const sha of (await runGit(['rev-list', 'origin/main', '-2'], { cwd: workDir })).stdout.trim().split('\n')) {
      const { stdout } = await runGit(['cat-file', 'commit', sha], { cwd: workDir });
      expect(signer.verifyCommit(Buffer.from(stdout, 'utf8')).signature).toBe('good');
    }
    await runGit(['fsck', '--no-dangling'], { cwd: workDir });

    // Maintenance does not hold writes: releases land while it runs, and nothing is lost.
    const maintaining = w2.maintain();
    const more = await Promise.all([1, 2, 3, 4, 5].map(i => w2.write(job(`b/${i}.txt`, `${i}\n`))));
    await maintaining;
    await w2.maintain();
    const onRemote = (await runGit(['ls-tree', '-r', '--name-only', 'main'], { cwd: remote })).stdout;
    for (const i of [1, 2, 3, 4, 5]) expect(onRemote).toContain(`b/${i}.txt`);
    for (const m of more) expect((await runGit(['cat-file', '-t', m.commit!], { cwd: workDir })).stdout.trim()).toBe('commit');
    expect(await loose()).toBe(0);
    await runGit(['fsck', '--no-dangling'], { cwd: workDir });

    // Between maintenances, every 50 packs the small ones are rolled up (no unbounded pack count).
    for (let i = 0; i < 55; i++) await w2.write(job(`c/${i}.txt`, `${i}\n`));
    await w2.idle();
    for (let t = 0; t < 100 && (await counted('packs')) > 10; t++) await new Promise(res => setTimeout(res, 100));
    expect(await counted('packs')).toBeLessThanOrEqual(10);
    await runGit(['fsck', '--no-dangling', '--strict'], { cwd: workDir });
    w1.close();
    w2.close();
  });

  it('reclaims per-process clones of processes that are gone, keeps the ones alive', () => {
    const dir = path.join(root, 'work', 'config-abc');
    fsSync.mkdirSync(`${dir}-999999`, { recursive: true });
    fsSync.writeFileSync(`${dir}-999999.lock`, '999999');
    fsSync.mkdirSync(`${dir}-${process.ppid}`, { recursive: true });
    fsSync.writeFileSync(`${dir}-${process.ppid}.lock`, String(process.ppid));
    fsSync.writeFileSync(`${dir}.lock`, String(process.ppid)); // the main clone is held by a live process
    const claimed = claimWorkDir(dir);
    expect(claimed.reclaimed).toEqual([`${dir}-999999`]);
    expect(fsSync.existsSync(`${dir}-999999`)).toBe(false);
    expect(fsSync.existsSync(`${dir}-${process.ppid}`)).toBe(true);
    expect(claimed.dir).toBe(`${dir}-${process.pid}`);
    fsSync.mkdirSync(claimed.dir, { recursive: true });
    claimed.release();
    expect(fsSync.existsSync(claimed.dir)).toBe(false);
    expect(fsSync.existsSync(`${claimed.dir}.lock`)).toBe(false);
  });
});
