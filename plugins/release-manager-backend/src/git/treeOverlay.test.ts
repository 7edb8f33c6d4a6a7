import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runGit } from '@devplane/plugin-git-host-node';
import { ObjectReader, parseTree } from './objects';
import { TreeOverlay } from './treeOverlay';

jest.setTimeout(60_000);

/**
 * The overlay against the real thing: the same operations on a checked-out work tree of the same
 * commit (what the writer used before), compared after every step.
 */
describe('TreeOverlay', () => {
  let repo: string;
  let work: string;
  let reader: ObjectReader;
  const git = async (args: string[]) => (await runGit(args, { cwd: repo })).stdout;

  beforeEach(async () => {
    repo = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-overlay-'));
    await git(['init', '-q', '-b', 'main']);
    const files: Record<string, string> = {
      'README.md': 'config\n',
      'dev/releases/a/svc-1/deployment.yaml': 'one\n',
      'dev/releases/a/svc-1/artifact.json': '{"id":"1"}\n',
      'dev/releases/b/svc-1/artifact.json': '{"id":"old"}\n',
      'dev/releases/b/svc-2/artifact.json': '{"id":2}\n',
      'dev/releases/b/svc-2/deep/nested.yaml': 'n\n',
      'prod/releases/a/svc-1/artifact.json': '{}\n',
      'policies/svc-1.json': '{}\n',
    };
    for (const [rel, content] of Object.entries(files)) {
      await fs.mkdir(path.dirname(path.join(repo, rel)), { recursive: true });
      await fs.writeFile(path.join(repo, rel), content);
    }
    await git(['add', '-A']);
    await git(['-c', 'user.name=T', '-c', 'user.email=t@x', 'commit', '-qm', 'init']);
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-overlay-work-'));
    await runGit(['clone', '-q', repo, work]);
    reader = new ObjectReader(repo, 200);
  });

  afterEach(async () => {
    reader.close();
    await fs.rm(repo, { recursive: true, force: true });
    await fs.rm(work, { recursive: true, force: true });
  });

  const overlay = async () =>
    new TreeOverlay({
      rootTree: (await git(['rev-parse', 'HEAD^{tree}'])).trim(),
      readTree: async sha => parseTree((await reader.read(sha))!.content),
      readBlob: async sha => (await reader.read(sha))?.content,
    });

  /** What a checked-out work tree says (the reference). */
  const disk = {
    readFile: (rel: string) => {
      try {
        return fsSync.readFileSync(path.join(work, rel), 'utf8');
      } catch {
        return undefined;
      }
    },
    entries: (rel: string) => {
      try {
        return fsSync.readdirSync(path.join(work, rel), { withFileTypes: true });
      } catch {
        return [];
      }
    },
    list: (rel: string) => disk.entries(rel).filter(e => e.isFile()).map(e => e.name).sort(),
    listDirs: (rel: string) => disk.entries(rel).filter(e => e.isDirectory() && e.name !== '.git').map(e => e.name).sort(),
    filesUnder: (rel: string): string[] => {
      const st = fsSync.statSync(path.join(work, rel), { throwIfNoEntry: false });
      if (!st) return [];
      if (st.isFile()) return [rel];
      return disk.entries(rel).flatMap(e => disk.filesUnder(`${rel}/${e.name}`)).sort();
    },
    write: (rel: string, text: string) => {
      fsSync.mkdirSync(path.dirname(path.join(work, rel)), { recursive: true });
      fsSync.writeFileSync(path.join(work, rel), text);
    },
    remove: (rel: string) => fsSync.rmSync(path.join(work, rel), { recursive: true, force: true }),
  };

  const probes = [
    '', 'dev', 'dev/releases', 'dev/releases/a', 'dev/releases/b', 'dev/releases/b/svc-1', 'dev/releases/b/svc-2',
    'dev/releases/c', 'dev/releases/c/svc-1', 'dev/releases/a/svc-1', 'prod/releases/a', 'policies', 'missing',
  ];
  const files = [
    'README.md', 'dev/releases/a/svc-1/artifact.json', 'dev/releases/a/svc-1/deployment.yaml',
    'dev/releases/b/svc-1/artifact.json', 'dev/releases/b/svc-2/deep/nested.yaml', 'dev/releases/c/svc-1/artifact.json',
    'policies/svc-1.json', 'policies/svc-9.json', 'dev/releases/a', 'nope/x',
  ];

  async function expectSame(tree: TreeOverlay, step: string) {
    for (const f of files) expect([step, f, await tree.readFile(f)]).toEqual([step, f, disk.readFile(f)]);
    for (const d of probes) {
      expect([step, d, await tree.list(d)]).toEqual([step, d, disk.list(d)]);
      expect([step, d, await tree.listDirs(d)]).toEqual([step, d, disk.listDirs(d)]);
      if (d) expect([step, d, await tree.filesUnder(d)]).toEqual([step, d, disk.filesUnder(d)]);
    }
  }

  it('reads, lists and changes exactly like a checked-out work tree of the same commit', async () => {
    const tree = await overlay();
    await expectSame(tree, 'untouched');
    // A release with a namespace move: the old folder goes, the new one is written from scratch.
    const steps: [string, () => Promise<void>, () => void][] = [
      ['remove old namespace folder', () => tree.remove('dev/releases/b/svc-1'), () => disk.remove('dev/releases/b/svc-1')],
      ['remove missing', () => tree.remove('dev/releases/c/svc-1'), () => disk.remove('dev/releases/c/svc-1')],
      ['write new folder', () => tree.writeFile('dev/releases/c/svc-1/artifact.json', '{"id":"new"}\n'), () => disk.write('dev/releases/c/svc-1/artifact.json', '{"id":"new"}\n')],
      ['replace folder', () => tree.remove('dev/releases/a/svc-1'), () => disk.remove('dev/releases/a/svc-1')],
      ['write into removed folder', () => tree.writeFile('dev/releases/a/svc-1/artifact.json', '{"id":"2"}\n'), () => disk.write('dev/releases/a/svc-1/artifact.json', '{"id":"2"}\n')],
      ['policy', () => tree.writeFile('policies/svc-9.json', Buffer.from('{"p":1}\n')), () => disk.write('policies/svc-9.json', '{"p":1}\n')],
      ['remove a written file', () => tree.remove('policies/svc-9.json'), () => disk.remove('policies/svc-9.json')],
      ['remove a deep folder', () => tree.remove('dev/releases/b/svc-2/deep'), () => disk.remove('dev/releases/b/svc-2/deep')],
      ['remove a whole tree', () => tree.remove('prod'), () => disk.remove('prod')],
    ];
    for (const [step, mine, theirs] of steps) {
      await mine();
      theirs();
      await expectSame(tree, step);
    }
    // Bytes for the commit come from the overlay: written and base files alike.
    expect((await tree.readBytes('dev/releases/c/svc-1/artifact.json'))?.toString()).toBe('{"id":"new"}\n');
    expect((await tree.readBytes('README.md'))?.toString()).toBe('config\n');
  });

  it('never touches the repository: the base commit and the work tree stay as they were', async () => {
    const before = await git(['status', '--porcelain']);
    const tree = await overlay();
    await tree.remove('dev');
    await tree.writeFile('x/y', 'z');
    expect(await tree.listDirs('')).toEqual(['policies', 'prod', 'x']);
    expect(await git(['status', '--porcelain'])).toBe(before);
    expect(fsSync.existsSync(path.join(repo, 'dev/releases/a/svc-1/artifact.json'))).toBe(true);
  });

  it('an empty repository is an empty tree', async () => {
    const tree = new TreeOverlay({ rootTree: undefined, readTree: async () => [], readBlob: async () => undefined });
    expect(await tree.readFile('a')).toBeUndefined();
    expect(await tree.list('')).toEqual([]);
    await tree.writeFile('a/b', 'c');
    expect(await tree.listDirs('')).toEqual(['a']);
    expect(await tree.filesUnder('a')).toEqual(['a/b']);
  });
});
