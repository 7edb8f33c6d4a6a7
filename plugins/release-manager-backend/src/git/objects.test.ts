import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { runGit } from '@devplane/plugin-git-host-node';
import { changedFiles, hashObject, ObjectReader, PackWriter, parseTree, TreeEditor, zlibStored } from './objects';

jest.setTimeout(60_000);

describe('in-process git objects', () => {
  let repo: string;
  let reader: ObjectReader;
  const git = async (args: string[], input?: string) => (await runGit(args, { cwd: repo, input })).stdout;

  beforeEach(async () => {
    repo = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-objects-'));
    await git(['init', '-q', '-b', 'main']);
    const files: Record<string, string> = {
      'README.md': 'config\n',
      'dev/releases/a/svc-1/deployment.yaml': 'one\n',
      'dev/releases/a/svc-1/artifact.json': '{}\n',
      'dev/releases/a/svc-2/artifact.json': '{"id":2}\n',
      'dev/releases/a-b/x.yaml': 'x\n',
      'dev/releases/a.b': 'file next to a dir\n',
      'prod/releases/a/svc-1/artifact.json': '{}\n',
      'policies/svc-1.json': '{}\n',
    };
    for (const [rel, content] of Object.entries(files)) {
      await fs.mkdir(path.dirname(path.join(repo, rel)), { recursive: true });
      await fs.writeFile(path.join(repo, rel), content);
    }
    await fs.writeFile(path.join(repo, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    await git(['add', '-A']);
    await git(['-c', 'user.name=T', '-c', 'user.email=t@x', 'commit', '-qm', 'init']);
    reader = new ObjectReader(repo, 200);
  });

  afterEach(async () => {
    reader.close();
    await fs.rm(repo, { recursive: true, force: true });
  });

  const readTree = async (sha: string) => {
    const o = await reader.read(sha);
    if (!o || o.type !== 'tree') throw new Error(`no tree ${sha}`);
    return parseTree(o.content);
  };

  it('writes zlib streams of stored blocks that zlib and git read back byte for byte', async () => {
    for (const size of [0, 1, 100, 65535, 65536, 200_001]) {
      const data = crypto.randomBytes(size);
      expect(zlib.inflateSync(zlibStored(data)).equals(data)).toBe(true);
    }
    const pack = new PackWriter(path.join(repo, '.git'));
    const content = Buffer.concat([Buffer.from('big\n'), crypto.randomBytes(70_000)]);
    const sha = pack.add('blob', content);
    pack.flushSync();
    expect(sha).toBe(hashObject('blob', content));
    expect((await runGit(['cat-file', '-s', sha], { cwd: repo })).stdout.trim()).toBe(String(content.length));
    await runGit(['fsck', '--no-dangling', '--strict'], { cwd: repo });
    expect((await reader.read(sha))?.content.equals(content)).toBe(true);
  });

  it('writes a batch as one pack and index that git verifies, reads and pushes, found by a reader already running', async () => {
    const head = (await git(['rev-parse', 'HEAD'])).trim();
    expect((await reader.read(head))?.type).toBe('commit'); // the reader's process is running
    const pack = new PackWriter(path.join(repo, '.git'));
    // Sizes around the header's 4-bit and 7-bit steps and zlib's 65,535-byte stored blocks.
    const blobs = [0, 15, 16, 127, 2047, 2048, 65535, 65536, 300_000].map(n => crypto.randomBytes(n));
    const shas = blobs.map(b => pack.add('blob', b));
    expect(pack.add('blob', blobs[1])).toBe(shas[1]); // the same object once
    const editor = new TreeEditor((await git(['rev-parse', 'HEAD^{tree}'])).trim(), readTree);
    for (let i = 0; i < shas.length; i++) await editor.put(`packed/b${i}.bin`, shas[i]);
    const { tree } = await editor.finish(async (type, content) => pack.add(type, content));
    const commit = pack.add('commit', Buffer.from(`tree ${tree}\nparent ${head}\nauthor T <t@x> 1 +0000\ncommitter T <t@x> 1 +0000\n\npacked\n`));
    expect(pack.size).toBe(shas.length + 3); // and the two trees on the path, and the commit
    const file = pack.flushSync()!;
    expect(pack.size).toBe(0);
    expect(pack.flushSync()).toBeUndefined();
    expect(path.basename(file)).toMatch(/^pack-[0-9a-f]{40}\.pack$/);
    // The pack's name is its checksum, as git names it; index-pack builds the same index from it.
    const verify = await git(['verify-pack', '-v', file.replace(/\.pack$/, '.idx')]);
    expect(verify).toContain(`${commit} commit`);
    const rebuilt = path.join(repo, 'rebuilt.idx');
    const { stdout: named } = await runGit(['index-pack', '-o', rebuilt, file], { cwd: repo });
    expect(named.trim()).toBe(path.basename(file).slice(5, 45));
    expect((await fs.readFile(rebuilt)).equals(await fs.readFile(file.replace(/\.pack$/, '.idx')))).toBe(true);
    // The long-running reader finds objects of a pack written after it started.
    expect((await reader.read(shas[8]))?.content.equals(blobs[8])).toBe(true);
    expect((await reader.read(commit))?.type).toBe('commit');
    await git(['update-ref', 'refs/heads/main', commit]);
    await runGit(['fsck', '--no-dangling', '--strict', '--full'], { cwd: repo });
    expect((await git(['cat-file', '-s', 'HEAD:packed/b3.bin'])).trim()).toBe('127');
    // and a clone of it has every object.
    const clone = `${repo}-clone`;
    try {
      await runGit(['clone', '-q', '--no-local', repo, clone]);
      expect((await runGit(['rev-parse', 'HEAD'], { cwd: clone })).stdout.trim()).toBe(commit);
      await runGit(['fsck', '--strict'], { cwd: clone });
    } finally {
      await fs.rm(clone, { recursive: true, force: true });
    }
  });

  it('hashes like git hash-object', async () => {
    const content = Buffer.from('hello\n');
    expect(hashObject('blob', content)).toBe((await git(['hash-object', '--stdin'], 'hello\n')).trim());
  });

  it('edits a tree exactly as git would (same tree id, same changed paths), keeping other modes', async () => {
    const base = (await git(['rev-parse', 'HEAD^{tree}'])).trim();
    const pack = new PackWriter(path.join(repo, '.git'));
    const editor = new TreeEditor(base, readTree);
    const write = async (type: string, c: Buffer) => pack.add(type, c);
    // A release: the folder replaced by what the job wrote (one file unchanged, one changed, one new,
    // one gone), a folder removed whole (a namespace move), a new path several levels deep.
    await editor.remove('dev/releases/a/svc-1');
    await editor.put('dev/releases/a/svc-1/artifact.json', await write('blob', Buffer.from('{}\n')));
    await editor.put('dev/releases/a/svc-1/service.yaml', await write('blob', Buffer.from('new\n')));
    await editor.remove('dev/releases/a/svc-2');
    await editor.remove('prod/releases/a/svc-1/artifact.json');
    await editor.put('staging/releases/b/svc-9/artifact.json', await write('blob', Buffer.from('{"id":9}\n')));
    await editor.remove('does/not/exist');
    const { tree, changed } = await editor.finish(write);
    pack.flushSync();

    // The same change through git's own index.
    await git(['rm', '-rq', '--', 'dev/releases/a/svc-1', 'dev/releases/a/svc-2', 'prod/releases/a/svc-1/artifact.json']);
    await fs.mkdir(path.join(repo, 'dev/releases/a/svc-1'), { recursive: true });
    await fs.writeFile(path.join(repo, 'dev/releases/a/svc-1/artifact.json'), '{}\n');
    await fs.writeFile(path.join(repo, 'dev/releases/a/svc-1/service.yaml'), 'new\n');
    await fs.mkdir(path.join(repo, 'staging/releases/b/svc-9'), { recursive: true });
    await fs.writeFile(path.join(repo, 'staging/releases/b/svc-9/artifact.json'), '{"id":9}\n');
    await git(['add', '-A']);
    const expected = (await git(['write-tree'])).trim();
    expect(tree).toBe(expected);
    const diff = (await git(['diff-tree', '-r', '--name-only', '--no-renames', '-z', base, expected])).split('\0').filter(Boolean);
    expect(changed).toEqual(diff);
    // The objects are valid for git and the executable file kept its mode.
    await git(['fsck', '--no-dangling', '--strict']);
    expect(await git(['ls-tree', tree, 'run.sh'])).toMatch(/^100755 blob/);
  });

  it('replacing a folder by the same content changes no path and gives the same tree', async () => {
    const base = (await git(['rev-parse', 'HEAD^{tree}'])).trim();
    const pack = new PackWriter(path.join(repo, '.git'));
    const write = async (type: string, c: Buffer) => pack.add(type, c);
    const editor = new TreeEditor(base, readTree);
    await editor.remove('dev/releases/a/svc-1');
    await editor.put('dev/releases/a/svc-1/deployment.yaml', await write('blob', Buffer.from('one\n')));
    await editor.put('dev/releases/a/svc-1/artifact.json', await write('blob', Buffer.from('{}\n')));
    expect(await editor.finish(write)).toEqual({ tree: base, changed: [] });
  });

  it('the object reader serves many reads from one process, reports missing objects and restarts after it stops', async () => {
    const head = (await git(['rev-parse', 'HEAD'])).trim();
    const reads = await Promise.all([reader.read(head), reader.read('HEAD:README.md'), reader.read('0'.repeat(40))]);
    expect(reads[0]?.type).toBe('commit');
    expect(reads[1]?.content.toString()).toBe('config\n');
    expect(reads[2]).toBeUndefined();
    expect(reader.started).toBe(1);
    // An object written after the process started (a pack, in process) is found.
    const later = new PackWriter(path.join(repo, '.git'));
    const sha = later.add('blob', Buffer.from('later\n'));
    later.flushSync();
    expect((await reader.read(sha))?.content.toString()).toBe('later\n');
    reader.close();
    expect((await reader.read(head))?.type).toBe('commit');
    expect(reader.started).toBe(2);
    await expect(reader.read('a\nb')).rejects.toThrow(/line break/);
  });
  it('changedFiles lists what git diff-tree -r --name-only lists (files, dirs replaced by files, modes)', async () => {
    const treeOf = async (rev: string) => (await git(['rev-parse', `${rev}^{tree}`])).trim();
    const before = await treeOf('HEAD');
    await fs.writeFile(path.join(repo, 'dev/releases/a/svc-1/artifact.json'), '{"id":1}\n');
    await fs.rm(path.join(repo, 'dev/releases/a-b'), { recursive: true });
    await fs.rm(path.join(repo, 'dev/releases/a.b'));
    await fs.mkdir(path.join(repo, 'dev/releases/a.b'));
    await fs.writeFile(path.join(repo, 'dev/releases/a.b/now-a-dir'), 'd\n');
    await fs.chmod(path.join(repo, 'run.sh'), 0o644);
    await fs.mkdir(path.join(repo, 'other'), { recursive: true });
    await fs.writeFile(path.join(repo, 'other/new.txt'), 'n\n');
    await git(['add', '-A']);
    await git(['-c', 'user.name=T', '-c', 'user.email=t@x', 'commit', '-qm', 'change']);
    const after = await treeOf('HEAD');
    const expected = (await git(['diff-tree', '-r', '-z', '--name-only', '--no-renames', before, after]))
      .split('\0')
      .filter(Boolean)
      .sort();
    expect(expected.length).toBeGreaterThan(5);
    expect((await changedFiles(before, after, readTree)).sort()).toEqual(expected);
    expect((await changedFiles(after, before, readTree)).sort()).toEqual(expected);
    expect(await changedFiles(after, after, readTree)).toEqual([]);
    // From nothing: every file of the tree.
    const all = (await git(['ls-tree', '-r', '--name-only', after])).split('\n').filter(Boolean).sort();
    expect((await changedFiles(undefined, after, readTree)).sort()).toEqual(all);
  });
});
