import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NotModifiedError } from '@backstage/errors';
import { LocalGitHost, safeJoin, validateRepoName } from './LocalGitHost';
import { LocalGitHostUrlReader, globToRegExp } from './urlReader';
import { runGit } from './git';

describe('LocalGitHost', () => {
  let root: string;
  let host: LocalGitHost;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'git-host-test-'));
    host = new LocalGitHost({ rootDir: root, baseUrl: 'http://localhost:7007/api/git-host/repos' });
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('announces a branch it wrote silently as the push that created it, by the given pusher', async () => {
    const events: any[] = [];
    host.onPush(e => {
      events.push(e);
    });
    await host.createRepo('svc', { files: { a: '1' } });
    const head = await host.commitFiles('svc', { b: '2' }, { message: 'second' });
    expect(events).toEqual([]); // nothing announced while the host wrote
    const announced = await host.announceBranch('svc', { pusher: 'user:default/anna' });
    expect(announced).toEqual({ sha: head, branch: 'main' });
    expect(events).toEqual([
      {
        repo: 'svc',
        ref: 'refs/heads/main',
        before: '0000000000000000000000000000000000000000',
        after: head,
        pusher: 'user:default/anna',
      },
    ]);
    await expect(host.announceBranch('svc', { branch: 'nope', pusher: 'x' })).rejects.toThrow(
      "has no branch 'nope'",
    );
    expect(events).toHaveLength(1);
  });

  it('creates a bare repository with a first commit and reads files back', async () => {
    const { cloneUrl, commit } = await host.createRepo('demo', {
      files: { 'README.md': '# demo\n', 'k8s/deployment.yaml': 'kind: Deployment\n' },
    });
    expect(cloneUrl).toBe('http://localhost:7007/api/git-host/repos/demo.git');
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    expect(fs.existsSync(path.join(root, 'demo.git', 'HEAD'))).toBe(true);
    const file = await host.readFile('demo', 'k8s/deployment.yaml');
    expect(file.content.toString()).toBe('kind: Deployment\n');
    expect(file.blobSha).toMatch(/^[0-9a-f]{40}$/);
    expect(commit).toBeDefined();
    expect(await host.list()).toEqual(['demo']);
    const tree = await host.listTree('demo', 'k8s');
    expect(tree.files.map(f => f.path)).toEqual(['deployment.yaml']);
  });

  it('refuses to create a repository twice', async () => {
    await host.createRepo('demo');
    await expect(host.createRepo('demo')).rejects.toThrow(/already exists/);
  });

  it('adds commits on top of the branch and deletes repositories', async () => {
    await host.createRepo('demo', { files: { a: '1' } });
    await host.commitFiles('demo', { b: '2' }, { message: 'second', author: { name: 'A', email: 'a@x' } });
    const { stdout } = await runGit(['log', '--format=%s|%ae', 'main'], { cwd: host.repoPath('demo') });
    expect(stdout.trim().split('\n')).toEqual(['second|a@x', 'Initial commit|devplane@localhost']);
    expect((await host.readFile('demo', 'a')).content.toString()).toBe('1');
    expect(await host.deleteRepo('demo')).toBe(true);
    expect(await host.exists('demo')).toBe(false);
  });

  it('commits with plumbing: replaces and adds files on the parent tree, binary content, enables pushes', async () => {
    await host.createRepo('plumb', { files: { 'a.txt': 'one\n', 'dir/b.txt': 'b\n' }, message: 'first' });
    const cwd = host.repoPath('plumb');
    expect((await runGit(['config', 'http.receivepack'], { cwd })).stdout.trim()).toBe('true');
    expect((await runGit(['config', 'receive.denyNonFastForwards'], { cwd })).stdout.trim()).toBe('true');
    const bytes = Buffer.from([0, 1, 2, 255]);
    const sha = await host.commitFiles(
      'plumb',
      { 'a.txt': 'two\n', 'dir/c.bin': bytes, 'with space.md': 'x' },
      { message: 'second\n\nbody line', author: { name: 'Ann <x>', email: 'ann@example.com' } },
    );
    const { stdout } = await runGit(['log', '--format=%H|%an|%ae|%s|%b', 'main'], { cwd });
    expect(stdout.trim().split('\n')[0]).toBe(`${sha}|Ann x|ann@example.com|second|body line`);
    const files = (await runGit(['ls-tree', '-r', '--name-only', 'main'], { cwd })).stdout.trim().split('\n');
    expect(files.sort()).toEqual(['a.txt', 'dir/b.txt', 'dir/c.bin', 'with space.md']);
    expect((await host.readFile('plumb', 'a.txt')).content.toString()).toBe('two\n');
    expect((await host.readFile('plumb', 'dir/c.bin')).content).toEqual(bytes);
    // an empty change is an empty commit on top, as `commit --allow-empty` made it
    const empty = await host.commitFiles('plumb', {}, { message: 'empty' });
    expect((await runGit(['rev-parse', `${empty}^`], { cwd })).stdout.trim()).toBe(sha);
    // git itself accepts the repository as consistent
    await runGit(['fsck', '--no-progress'], { cwd });
  });

  it('refuses paths inside .git or with control characters, writing nothing', async () => {
    const { commit } = await host.createRepo('paths', { files: { a: '1' } });
    for (const bad of ['.git/config', 'x/.GIT/hooks/pre-commit', 'line\nbreak', '../up', 'a/./b']) {
      await expect(host.commitFiles('paths', { [bad]: 'x' }, { message: 'bad' })).rejects.toThrow(/Invalid path|inside \.git/);
    }
    expect(await host.resolveRef('paths', 'main')).toBe(commit);
  });

  it('never moves a branch over a commit made after it read the head (concurrent commits)', async () => {
    await host.createRepo('race', { files: { a: '0' } });
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => host.commitFiles('race', { [`f${i}`]: `${i}` }, { message: `c${i}` })),
    );
    const ok = results.filter(r => r.status === 'fulfilled') as PromiseFulfilledResult<string>[];
    const failed = results.filter(r => r.status === 'rejected') as PromiseRejectedResult[];
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const f of failed) expect(String(f.reason)).toMatch(/moved while committing|lock/);
    // every commit that reported success is on main: none was overwritten by a later one
    for (const r of ok) expect(await host.branchContains('race', 'main', r.value)).toBe(true);
    const count = (await runGit(['rev-list', '--count', 'main'], { cwd: host.repoPath('race') })).stdout.trim();
    expect(Number(count)).toBe(1 + ok.length);
  });

  it.each([
    '../escape',
    '/etc/passwd',
    'a/b/c',
    'UPPER',
    'nul\0byte',
    '..',
    'name.',
    '-flag',
    'x'.repeat(200),
    'a%2Fb',
  ])('rejects the repository name %j with a clear error', name => {
    expect(() => validateRepoName(name)).toThrow(/Invalid repository name/);
    expect(fs.readdirSync(root)).toEqual([]);
  });

  it('tells whether a commit is reachable from a branch (branchContains)', async () => {
    const { commit: first } = await host.createRepo('svc', { files: { a: '1' } });
    const second = await host.commitFiles('svc', { b: '2' }, { message: 'second' });
    const feature = await host.commitFiles('svc', { c: '3' }, { message: 'feature', branch: 'feature/x' });
    expect(await host.branchContains('svc', 'main', first!)).toBe(true);
    expect(await host.branchContains('svc', 'main', second)).toBe(true);
    // a commit only on a feature branch is not on main, whatever an upload claims
    expect(await host.branchContains('svc', 'main', feature)).toBe(false);
    expect(await host.branchContains('svc', 'feature/x', feature)).toBe(true);
    // unknown commit, abbreviated sha, symbolic names, missing branch or repo: false
    expect(await host.branchContains('svc', 'main', 'f'.repeat(40))).toBe(false);
    expect(await host.branchContains('svc', 'main', second.slice(0, 10))).toBe(false);
    expect(await host.branchContains('svc', 'main', 'HEAD')).toBe(false);
    expect(await host.branchContains('svc', 'nope', second)).toBe(false);
    expect(await host.branchContains('missing', 'main', second)).toBe(false);
    // a tree or blob id is not a commit
    const tree = (await runGit(['rev-parse', `${second}^{tree}`], { cwd: host.repoPath('svc') })).stdout.trim();
    expect(await host.branchContains('svc', 'main', tree)).toBe(false);
    await expect(host.branchContains('svc', '--upload-pack=x', second)).rejects.toThrow(/Invalid ref/);
  });

  it('refuses paths that escape the working directory', () => {
    expect(() => safeJoin(root, '../x')).toThrow(/Invalid path/);
    expect(() => safeJoin(root, 'a/../../x')).toThrow(/Invalid path/);
    expect(safeJoin(root, 'a/b.txt')).toBe(path.join(root, 'a', 'b.txt'));
  });

  it('parses browse URLs and rejects relative segments and foreign hosts', () => {
    expect(host.parseUrl('http://localhost:7007/api/git-host/repos/demo/blob/main/k8s/a.yaml')).toEqual({
      repo: 'demo',
      kind: 'blob',
      ref: 'main',
      path: 'k8s/a.yaml',
    });
    expect(() => host.parseUrl('http://localhost:7007/api/git-host/repos/demo/blob/main/%2e%2e/x')).toThrow(/relative path/);
    expect(() => host.parseUrl('http://evil.example.com/demo/blob/main/x')).toThrow(/not on the local git host/);
  });

  describe('URL reader', () => {
    it('reads files with the blob sha as ETag and answers NotModified for an unchanged file', async () => {
      await host.createRepo('demo', { files: { 'shuttle.yaml': 'vars:\n  squad: payments\n' } });
      const reader = new LocalGitHostUrlReader(host);
      const url = host.fileUrl('demo', 'shuttle.yaml');
      const res = await reader.readUrl(url);
      expect((await res.buffer()).toString()).toContain('squad: payments');
      expect(res.etag).toMatch(/^[0-9a-f]{40}$/);
      await expect(reader.readUrl(url, { etag: res.etag })).rejects.toBeInstanceOf(NotModifiedError);
      await host.commitFiles('demo', { 'shuttle.yaml': 'vars:\n  squad: lending\n' }, { message: 'move' });
      const changed = await reader.readUrl(url, { etag: res.etag });
      expect((await changed.buffer()).toString()).toContain('squad: lending');
    });

    it('throws NotFound for a missing file or repository', async () => {
      await host.createRepo('demo', { files: { a: '1' } });
      const reader = new LocalGitHostUrlReader(host);
      await expect(reader.readUrl(host.fileUrl('demo', 'missing.yaml'))).rejects.toThrow(/not found/);
      await expect(reader.readUrl(host.fileUrl('nope', 'a'))).rejects.toThrow(/not found/);
    });

    it('searches files by glob', async () => {
      await host.createRepo('demo', { files: { 'k8s/a.yaml': 'a', 'k8s/b.yml': 'b', 'README.md': 'r' } });
      const reader = new LocalGitHostUrlReader(host);
      const res = await reader.search(host.fileUrl('demo', 'k8s/*.yaml'));
      expect(res.files.map(f => f.url)).toEqual([host.fileUrl('demo', 'k8s/a.yaml')]);
      expect((await res.files[0].content()).toString()).toBe('a');
      expect(globToRegExp('**/*.md').test('docs/x/index.md')).toBe(true);
    });
  });
});
