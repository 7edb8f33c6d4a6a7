import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalGitHost, runGit } from '@devplane/plugin-git-host-node';
import { GitOpsWriter, WorkTree } from '../git/GitOpsWriter';
import { OpenPgpCommitSigner, stopGpgAgent } from '../git/Signer';
import { HistoryReader } from './HistoryReader';

jest.setTimeout(60_000);

/** One signed commit that writes (or, with `undefined`, removes) files. */
const job = (files: Record<string, string | undefined>, message = 'write\n') => ({
  apply: async (tree: WorkTree) => {
    for (const [rel, content] of Object.entries(files)) {
      if (content === undefined) await tree.remove(rel);
      else await tree.writeFile(rel, content);
    }
    return { result: 'ok', commit: { message, paths: Object.keys(files) } };
  },
});

describe('HistoryReader', () => {
  let root: string;
  let remote: string;
  let writer: GitOpsWriter;
  let signer: OpenPgpCommitSigner;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-history-'));
    signer = await OpenPgpCommitSigner.fromGnupgHome({ gnupgHome: path.join(root, 'gnupg'), name: 'RM', email: 'rm@x' });
  });
  afterAll(async () => {
    await stopGpgAgent(path.join(root, 'gnupg'));
    await fs.rm(root, { recursive: true, force: true });
  });
  beforeEach(async () => {
    const dir = await fs.mkdtemp(path.join(root, 'case-'));
    const host = new LocalGitHost({ rootDir: path.join(dir, 'git'), baseUrl: 'http://localhost/repos' });
    await host.createRepo('config', { files: { 'README.md': 'config\n' } });
    remote = host.repoPath('config');
    writer = await GitOpsWriter.create({ workDir: path.join(dir, 'work'), remoteUrl: remote });
    writer.configureTrust({ signer });
  });

  /** What `git log -1` over the folder's pathspec says (the way it was read before the scan). */
  const gitLastCommit = async (env: string, service: string) =>
    (
      await runGit(['log', '-1', '--format=%H', writer.originRef, '--', `:(glob)${env}/releases/*/${service}/**`], {
        cwd: writer.workDir,
      })
    ).stdout.trim();

  it('answers the last commit of a service folder from its scan, as git log over the folder does, incrementally', async () => {
    const reader = new HistoryReader({ cwd: writer.workDir, ref: writer.originRef, signer });
    await writer.write(job({ 'dev/releases/ns-a/svc-1/artifact.json': '{"id":"a1"}\n' }));
    await writer.write(job({ 'dev/releases/ns-a/svc-2/artifact.json': '{"id":"b1"}\n' }));
    await writer.write(job({ 'prod/releases/ns-a/svc-1/artifact.json': '{"id":"a1"}\n' }));
    await writer.write(job({ 'README.md': 'unrelated\n' }));
    for (const [env, svc] of [['dev', 'svc-1'], ['dev', 'svc-2'], ['prod', 'svc-1'], ['prod', 'svc-2'], ['staging', 'svc-1']]) {
      expect(await reader.lastCommitOf(env, svc)).toBe(await gitLastCommit(env, svc));
    }
    expect(await reader.lastCommitOf('staging', 'svc-1')).toBe('');
    const count = reader.scannedCount;
    // A namespace move (folder removed under ns-a, written under ns-b) is one commit for the service.
    const moved = await writer.write(
      job({ 'dev/releases/ns-a/svc-1': undefined, 'dev/releases/ns-b/svc-1/artifact.json': '{"id":"a2"}\n' }),
    );
    expect(await reader.lastCommitOf('dev', 'svc-1')).toBe(moved.commit);
    expect(await reader.lastCommitOf('dev', 'svc-1')).toBe(await gitLastCommit('dev', 'svc-1'));
    // Read incrementally: one more commit scanned, not the history again.
    expect(reader.scannedCount).toBe(count + 1);
    const removed = await writer.write(job({ 'dev/releases/ns-b/svc-1': undefined }));
    expect(await reader.lastCommitOf('dev', 'svc-1')).toBe(removed.commit);
    expect(await reader.lastCommitOf('dev', 'svc-2')).toBe(await gitLastCommit('dev', 'svc-2'));
  });

  it('reads release folders at many commits in one go: files, missing folders, subfolders', async () => {
    const reader = new HistoryReader({ cwd: writer.workDir, ref: writer.originRef, signer });
    const one = await writer.write(
      job({ 'dev/releases/ns/svc/artifact.json': '{"id":"x"}\n', 'dev/releases/ns/svc/deploy.yaml': 'kind: A\n' }),
    );
    const two = await writer.write(
      job({ 'dev/releases/ns/svc/deploy.yaml': 'kind: B\n', 'dev/releases/ns/svc/sub/extra.yaml': 'kind: C\n' }),
    );
    const dirs = await reader.readDirs([
      { commit: one.commit!, dir: 'dev/releases/ns/svc' },
      { commit: two.commit!, dir: 'dev/releases/ns/svc' },
      { commit: one.commit!, dir: 'dev/releases/ns/other' },
      { commit: one.commit!, dir: 'dev/releases/ns/svc/artifact.json' },
    ]);
    expect(dirs[0]).toEqual({ files: { 'artifact.json': '{"id":"x"}\n', 'deploy.yaml': 'kind: A\n' }, nested: false });
    expect(dirs[1]).toEqual({ files: { 'artifact.json': '{"id":"x"}\n', 'deploy.yaml': 'kind: B\n' }, nested: true });
    expect(dirs[2]).toBeUndefined();
    // a file is not a folder
    expect(dirs[3]).toBeUndefined();
  });

  it('adopts the scan of a full read made by another caller instead of reading the history again', async () => {
    for (let i = 0; i < 5; i++) await writer.write(job({ [`dev/releases/ns/svc-${i}/artifact.json`]: `{"id":"v${i}"}\n` }));
    const reader = new HistoryReader({ cwd: writer.workDir, ref: writer.originRef, signer });
    const observer = reader.fullReadObserver();
    let read = 0;
    for await (const c of reader.commits()) {
      observer.add(c);
      read++;
    }
    observer.done();
    const spy = jest.spyOn(reader, 'commits');
    const state = await reader.stateAt();
    expect(spy).not.toHaveBeenCalled();
    expect(reader.scannedCount).toBe(read);
    expect(state.releases.map(r => r.artifactId).sort()).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    expect(await reader.lastCommitOf('dev', 'svc-3')).toBe(await gitLastCommit('dev', 'svc-3'));
    // A read that skipped commits (not from the root) is not adopted.
    const other = new HistoryReader({ cwd: writer.workDir, ref: writer.originRef, signer });
    const partial = other.fullReadObserver();
    let n = 0;
    for await (const c of other.commits()) if (n++ > 0) partial.add(c);
    partial.done();
    expect(other.scannedCount).toBe(0);
  });
});
