import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runGit, runGitBuffer } from '@devplane/plugin-git-host-node';
import { buildPack, hashObject, parseTree } from './objects';
import { localRepoPath, pushToLocalRepo } from './receivePack';

jest.setTimeout(60_000);

describe('push through git receive-pack', () => {
  let root: string;
  let remote: string;
  const git = async (args: string[], cwd = remote) => (await runGit(args, { cwd })).stdout.trim();

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-receive-'));
    remote = path.join(root, 'config.git');
    const seed = path.join(root, 'seed');
    await runGit(['init', '-q', '--bare', '-b', 'main', remote]);
    await runGit(['init', '-q', '-b', 'main', seed]);
    await fs.writeFile(path.join(seed, 'README.md'), 'config\n');
    await git(['add', '-A'], seed);
    await git(['-c', 'user.name=T', '-c', 'user.email=t@x', 'commit', '-qm', 'init'], seed);
    await git(['push', '-q', remote, 'HEAD:main'], seed);
  });
  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  /** A commit on top of `parent` adding one file, and every object the remote lacks for it. */
  async function commitOn(parent: string, file: string, text: string) {
    const rootTree = parseTree(await runGitBuffer(['cat-file', 'tree', `${parent}^{tree}`], { cwd: remote }));
    const blob = { type: 'blob', content: Buffer.from(text) };
    const entries = [...rootTree.filter(e => e.name !== file), { mode: '100644', name: file, sha: hashObject('blob', blob.content) }].sort((a, b) =>
      a.name < b.name ? -1 : 1,
    );
    const tree = {
      type: 'tree',
      content: Buffer.concat(entries.map(e => Buffer.concat([Buffer.from(`${e.mode} ${e.name}\0`), Buffer.from(e.sha, 'hex')]))),
    };
    const commit = {
      type: 'commit',
      content: Buffer.from(`tree ${hashObject('tree', tree.content)}\nparent ${parent}\nauthor T <t@x> 1 +0000\ncommitter T <t@x> 1 +0000\n\nadd ${file}\n`),
    };
    return { sha: hashObject('commit', commit.content), objects: [blob, tree, commit] };
  }

  it('moves the branch from the tip the commits were built on, with the pack given; git reads the result', async () => {
    const base = await git(['rev-parse', 'main']);
    const c = await commitOn(base, 'a.txt', 'a\n');
    expect(await pushToLocalRepo({ repo: remote, ref: 'refs/heads/main', oldTip: base, newTip: c.sha, pack: buildPack(c.objects).pack })).toEqual({
      status: 'ok',
    });
    expect(await git(['rev-parse', 'main'])).toBe(c.sha);
    expect(await git(['show', 'main:a.txt'])).toBe('a');
    await git(['fsck', '--strict', '--no-dangling']);
  });

  it('sends nothing when the branch moved since: the other push stays, nothing is forced', async () => {
    const base = await git(['rev-parse', 'main']);
    const theirs = await commitOn(base, 'theirs.txt', 'theirs\n');
    await pushToLocalRepo({ repo: remote, ref: 'refs/heads/main', oldTip: base, newTip: theirs.sha, pack: buildPack(theirs.objects).pack });
    const ours = await commitOn(base, 'ours.txt', 'ours\n');
    expect(await pushToLocalRepo({ repo: remote, ref: 'refs/heads/main', oldTip: base, newTip: ours.sha, pack: buildPack(ours.objects).pack })).toEqual({
      status: 'moved',
      remoteTip: theirs.sha,
    });
    expect(await git(['rev-parse', 'main'])).toBe(theirs.sha);
    await expect(git(['cat-file', '-e', ours.sha])).rejects.toThrow();
  });

  it('a push that lands between the advertisement and the update: the compare-and-swap keeps it, the answer is "moved"', async () => {
    const base = await git(['rev-parse', 'main']);
    const theirs = await commitOn(base, 'theirs.txt', 'theirs\n');
    await pushToLocalRepo({ repo: remote, ref: 'refs/heads/side', oldTip: '', newTip: theirs.sha, pack: buildPack(theirs.objects).pack });
    // The other push lands while ours is being received: a hook moves the branch then (writing the
    // ref file, as git's own ref update API is closed to hooks).
    await fs.writeFile(path.join(remote, 'hooks', 'pre-receive'), `#!/bin/sh\necho ${theirs.sha} > refs/heads/main\n`, { mode: 0o755 });
    const ours = await commitOn(base, 'ours.txt', 'ours\n');
    const r = await pushToLocalRepo({ repo: remote, ref: 'refs/heads/main', oldTip: base, newTip: ours.sha, pack: buildPack(ours.objects).pack });
    expect(r).toEqual({ status: 'moved' });
    expect(await git(['rev-parse', 'main'])).toBe(theirs.sha);
  });

  it('reports a hook that refuses the push, with what the hook said, and leaves the branch', async () => {
    const hook = path.join(remote, 'hooks', 'pre-receive');
    await fs.writeFile(hook, '#!/bin/sh\necho "releases are frozen today" >&2\nexit 1\n', { mode: 0o755 });
    const base = await git(['rev-parse', 'main']);
    const c = await commitOn(base, 'a.txt', 'a\n');
    const r = await pushToLocalRepo({ repo: remote, ref: 'refs/heads/main', oldTip: base, newTip: c.sha, pack: buildPack(c.objects).pack });
    expect(r).toEqual({ status: 'refused', reason: 'pre-receive hook declined', said: 'releases are frozen today' });
    expect(await git(['rev-parse', 'main'])).toBe(base);
  });

  it('refuses a pack that lacks an object of the new commit (connectivity check): the branch stays', async () => {
    const base = await git(['rev-parse', 'main']);
    const c = await commitOn(base, 'a.txt', 'a\n');
    const r = await pushToLocalRepo({
      repo: remote,
      ref: 'refs/heads/main',
      oldTip: base,
      newTip: c.sha,
      pack: buildPack(c.objects.filter(o => o.type !== 'blob')).pack,
    });
    expect(r.status).toBe('refused');
    expect(await git(['rev-parse', 'main'])).toBe(base);
  });

  it('creates a branch that does not exist yet from an empty old tip', async () => {
    const base = await git(['rev-parse', 'main']);
    const c = await commitOn(base, 'b.txt', 'b\n');
    const pack = buildPack(c.objects).pack;
    expect(await pushToLocalRepo({ repo: remote, ref: 'refs/heads/other', oldTip: '', newTip: c.sha, pack })).toEqual({ status: 'ok' });
    expect(await git(['rev-parse', 'other'])).toBe(c.sha);
  });

  it('knows local remotes from network ones', async () => {
    expect(localRepoPath(remote)).toBe(remote);
    expect(localRepoPath(`file://${remote}`)).toBe(remote);
    expect(localRepoPath('https://github.com/org/config.git')).toBeUndefined();
    expect(localRepoPath('git@github.com:org/config.git')).toBeUndefined();
    expect(localRepoPath(path.join(root, 'missing.git'))).toBeUndefined();
    expect(localRepoPath('relative/config.git')).toBeUndefined();
  });
});
