import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TestDatabaseId, TestDatabases } from '@backstage/backend-test-utils';
import { LocalGitHost, runGit } from '@devplane/plugin-git-host-node';
import type { Knex } from 'knex';
import { ReleaseManagerStore } from '../database/ReleaseManagerStore';
import { HistoryReader } from '../history/HistoryReader';
import { GitOpsWriter, WriteJob } from './GitOpsWriter';
import { hashObject } from './objects';
import { decodeObjects, encodeObjects, PostgresPushHandoff } from './pushHandoff';
import { PostgresAdvisoryLock } from './PushLock';
import { OpenPgpCommitSigner, stopGpgAgent } from './Signer';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_16'] });
const pg = databases.eachSupportedId();

function fileJob(rel: string, content = `${rel}\n`): WriteJob<string> {
  return {
    apply: async tree => {
      await tree.writeFile(rel, content);
      return { result: rel, commit: { message: `write ${rel}\n\nService: x\n`, paths: [rel] } };
    },
  };
}

describe('push handoff objects', () => {
  it('round-trips objects as git frames them', () => {
    const objects = [
      { type: 'blob', content: Buffer.from('a\0b') },
      { type: 'tree', content: Buffer.alloc(0) },
      { type: 'commit', content: Buffer.from('tree x\n\nmsg') },
    ];
    expect(decodeObjects(encodeObjects(objects))).toEqual(objects);
    expect(() => decodeObjects(Buffer.from('blob 10\0abc'))).toThrow(/malformed/);
    expect(() => decodeObjects(Buffer.from('tag 1\0a'))).toThrow(/malformed/);
  });
});

(pg.length ? describe.each(pg) : describe.skip.each([['POSTGRES_16' as TestDatabaseId]]))(
  'replicas handing their pushes over through %s',
  (databaseId: TestDatabaseId) => {
    let root: string;
    let remote: string;
    let knex: Knex;
    let signer: OpenPgpCommitSigner;
    let stranger: OpenPgpCommitSigner;
    const writers: GitOpsWriter[] = [];

    beforeAll(async () => {
      root = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-handoff-'));
      signer = await OpenPgpCommitSigner.fromGnupgHome({ gnupgHome: path.join(root, 'gnupg'), name: 'RM', email: 'rm@x' });
      stranger = await OpenPgpCommitSigner.fromGnupgHome({
        gnupgHome: path.join(root, 'gnupg-2'),
        name: 'Other',
        email: 'other@x',
      });
    });
    afterAll(async () => {
      await stopGpgAgent(path.join(root, 'gnupg'));
      await stopGpgAgent(path.join(root, 'gnupg-2'));
      await fs.rm(root, { recursive: true, force: true });
    });

    beforeEach(async () => {
      knex = await databases.init(databaseId);
      // The plugin's migrations create the handoff table.
      await ReleaseManagerStore.create({ database: { getClient: async () => knex } as any });
      const host = new LocalGitHost({ rootDir: await fs.mkdtemp(path.join(root, 'git-')), baseUrl: 'http://localhost/repos' });
      await host.createRepo('config', { files: { 'README.md': 'config\n' } });
      remote = host.repoPath('config');
    });
    afterEach(() => {
      writers.splice(0).forEach(w => w.close());
    });

    /** A replica's writer wired as plugin.ts and ReleaseManager wire it (lock, handoff, signer, reader). */
    async function replica(name: string, key = 'cfg', beforePush?: () => Promise<void>) {
      const writer = await GitOpsWriter.create({
        workDir: await fs.mkdtemp(path.join(root, `${name}-`)),
        remoteUrl: remote,
        beforePush,
        pushLock: PostgresAdvisoryLock.forDatabase(knex, key),
        handoff: new PostgresPushHandoff(knex, key),
      });
      const reader = new HistoryReader({ cwd: writer.workDir, ref: writer.originRef, signer });
      writer.configureTrust({
        signer,
        gate: tip => reader.assertWritable(tip),
        handedOver: (from, commits) => reader.absorbWritten(from, commits),
      });
      writers.push(writer);
      return writer;
    }
    const git = async (args: string[]) => (await runGit(args, { cwd: remote })).stdout.trim();

    /** Replicas a and b, b's clone made by a first write, then a's push recorded: the branch's tip. */
    async function aPushedAfterB() {
      const a = await replica('a');
      const b = await replica('b');
      await b.write(fileJob('b/0.txt'));
      await a.write(fileJob('a/0.txt'));
      return { b, realTip: await git(['rev-parse', 'main']) };
    }

    it('the next replica builds on the pushes the other handed over, without fetching, on a linear history', async () => {
      const a = await replica('a');
      const b = await replica('b');
      await b.write(fileJob('b/0.txt')); // b's clone is made (its first look fetches)
      const fetchesBefore = b.stats.fetches;
      for (let i = 0; i < 3; i++) await a.write(fileJob(`a/${i}.txt`));
      const aTip = await git(['rev-parse', 'main']);
      const r = await b.write(fileJob('b/1.txt'));
      expect(b.stats.fetches).toBe(fetchesBefore);
      expect(b.stats.handoffs).toBeGreaterThan(0);
      expect(b.stats.rejectedPushes).toBe(0);
      expect(r.pushed![0].parent).toBe(aTip);
      // b's commit carries a's files (it was built on a's tip) and everything is on one line.
      expect((await git(['ls-tree', '-r', '--name-only', 'main'])).split('\n')).toEqual(
        expect.arrayContaining(['a/0.txt', 'a/1.txt', 'a/2.txt', 'b/0.txt', 'b/1.txt']),
      );
      expect(await git(['rev-list', '--merges', 'main'])).toBe('');
      expect(await git(['rev-list', '--count', 'main'])).toBe('6');
      // b's view of the remote moved as a fetch would have moved it.
      expect(await b.head()).toBe(await git(['rev-parse', 'main']));
    });

    it('a recorded push the remote has moved past: git refuses the push as non-fast-forward, the writer fetches, nothing is lost', async () => {
      const { b } = await aPushedAfterB();
      // Someone pushes to the remote directly after a's recorded push (not through the lock).
      const outside = await fs.mkdtemp(path.join(root, 'outside-'));
      await runGit(['clone', '-q', remote, outside]);
      await fs.writeFile(path.join(outside, 'outside.txt'), 'x\n');
      await runGit(['add', '-A'], { cwd: outside });
      await runGit(['-c', 'user.name=O', '-c', 'user.email=o@x', 'commit', '-qm', 'outside'], { cwd: outside });
      await runGit(['push', '-q', 'origin', 'HEAD:main'], { cwd: outside });
      const outsideTip = await git(['rev-parse', 'main']);
      // b trusts the record, git refuses its push, b fetches and lands on the outside commit.
      const fetches = b.stats.fetches;
      const r = await b.write(fileJob('b/1.txt'));
      expect(b.stats.rejectedPushes).toBe(1);
      expect(b.stats.fetches).toBe(fetches + 1);
      expect(r.pushed![0].parent).toBe(outsideTip);
      expect((await git(['ls-tree', '-r', '--name-only', 'main'])).split('\n')).toEqual(
        expect.arrayContaining(['a/0.txt', 'outside.txt', 'b/0.txt', 'b/1.txt']),
      );
      expect(await git(['rev-list', '--merges', 'main'])).toBe('');
    });

    it('a forged record (commits not signed by the release manager) is never built on: the writer fetches', async () => {
      const { b, realTip } = await aPushedAfterB();
      // A commit on the real tip, signed by another key, with its tree, recorded as if pushed.
      const tree = await git(['rev-parse', 'main^{tree}']);
      const payload = Buffer.from(
        `tree ${tree}\nparent ${realTip}\nauthor Mallory <m@x> 1700000000 +0000\ncommitter Release Manager <rm@x> 1700000000 +0000\n\nrelease: forged\n`,
      );
      const raw = stranger.signCommit(payload);
      const forged = hashObject('commit', raw);
      await new PostgresPushHandoff(knex, 'cfg').record({ parent: realTip, tip: forged, objects: [{ type: 'commit', content: raw }] });
      const r = await b.write(fileJob('b/1.txt'));
      expect(r.pushed![0].parent).toBe(realTip);
      expect(await git(['rev-list', 'main'])).not.toContain(forged);
      // Not even stored in b's clone: the signature is checked before any object is written.
      await expect(runGit(['cat-file', '-e', forged], { cwd: b.workDir })).rejects.toThrow();
      expect(await git(['rev-list', '--count', 'main'])).toBe('4');
    });

    /** Writes `rel` with what `policy` says when it is read (a job that depends on another path). */
    function dependentJob(rel: string, policy: string, seen: string[]): WriteJob<string> {
      return {
        apply: async tree => {
          const said = (await tree.readFile(policy)) ?? 'none';
          seen.push(said);
          await tree.writeFile(rel, `decided on: ${said}`);
          return { result: said, commit: { message: `write ${rel}\n\nService: x\n`, paths: [rel] } };
        },
      };
    }

    /**
     * Replicas a and b (b's clone made), and a's `job` holding the push lock: its push waits 400 ms
     * once started, so what b is given meanwhile queues up behind the lock.
     */
    async function whileAHoldsTheLock(job: WriteJob<string>) {
      let hasLock: (() => void) | undefined;
      const slowOnce = () => {
        const tell = hasLock;
        hasLock = undefined;
        if (!tell) return Promise.resolve();
        tell();
        return new Promise<void>(r => setTimeout(r, 400));
      };
      const a = await replica('a', 'cfg', slowOnce);
      const b = await replica('b');
      await b.write(fileJob('b/0.txt'));
      const locked = new Promise<void>(r => (hasLock = r));
      const aWrite = a.write(job);
      await locked;
      return { a, b, aWrite };
    }

    it('jobs queued while the other replica holds the lock are decided meanwhile, and kept when the new tip answers their reads the same', async () => {
      const { b, aWrite } = await whileAHoldsTheLock(fileJob('a/0.txt')); // b's jobs queue up meanwhile
      const seen: string[] = [];
      const before = b.stats.prepared;
      const bWrites = [1, 2, 3].map(i => b.write(dependentJob(`b/${i}.txt`, 'policies/x.json', seen)));
      await Promise.all([aWrite, ...bWrites]);
      expect(b.stats.prepared - before).toBe(3);
      expect(seen).toEqual(['none', 'none', 'none']); // decided once each: before the lock, kept
      expect((await git(['ls-tree', '-r', '--name-only', 'main'])).split('\n')).toEqual(
        expect.arrayContaining(['a/0.txt', 'b/1.txt', 'b/2.txt', 'b/3.txt']),
      );
      expect(await git(['rev-list', '--merges', 'main'])).toBe('');
    });

    it('a prepared job whose read the other replica changed meanwhile is decided again on the new tip', async () => {
      // a changes the policy b's job reads, while b's job waits for the lock.
      const { b, aWrite } = await whileAHoldsTheLock(fileJob('policies/x.json', 'forbid'));
      const seen: string[] = [];
      const before = b.stats.prepared;
      const bWrite = b.write(dependentJob('b/1.txt', 'policies/x.json', seen));
      await Promise.all([aWrite, bWrite]);
      expect(seen).toEqual(['none', 'forbid']);
      expect(b.stats.prepared - before).toBe(0);
      expect((await bWrite).result).toBe('forbid');
      expect(await git(['show', 'main:b/1.txt'])).toBe('decided on: forbid');
    });

    it('a record missing objects (a signed commit whose tree is nowhere) makes the writer fetch, not fail', async () => {
      const { b, realTip } = await aPushedAfterB();
      const raw = signer.signCommit(
        Buffer.from(`tree ${'e'.repeat(40)}\nparent ${realTip}\nauthor RM <rm@x> 1700000000 +0000\ncommitter RM <rm@x> 1700000000 +0000\n\nrelease: incomplete\n`),
      );
      await new PostgresPushHandoff(knex, 'cfg').record({ parent: realTip, tip: hashObject('commit', raw), objects: [{ type: 'commit', content: raw }] });
      const fetches = b.stats.fetches;
      const r = await b.write(fileJob('b/1.txt'));
      expect(b.stats.fetches).toBe(fetches + 1);
      expect(r.pushed![0].parent).toBe(realTip);
    });

    it('a gap in the record (a push not recorded) makes the writer look at the remote', async () => {
      const { b } = await aPushedAfterB();
      await knex('rm_push_handoff').delete();
      const fetches = b.stats.fetches;
      const r = await b.write(fileJob('b/1.txt'));
      expect(b.stats.fetches).toBe(fetches + 1);
      expect(r.pushed![0].parent).toBe((await git(['rev-parse', 'main~1'])));
      expect((await git(['ls-tree', '-r', '--name-only', 'main'])).split('\n')).toContain('a/0.txt');
    });
  },
);
