import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TestDatabaseId, TestDatabases } from '@backstage/backend-test-utils';
import { ServiceUnavailableError } from '@backstage/errors';
import { LocalGitHost, runGit } from '@devplane/plugin-git-host-node';
import { GitOpsWriter, WriteJob } from './GitOpsWriter';
import { advisoryLockKeys, PostgresAdvisoryLock } from './PushLock';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });
const pg = databases
  .eachSupportedId()
  .filter(([id]) => id.startsWith('POSTGRES'));
const sleep = (ms: number) => new Promise<void>(r => setTimeout(r, ms));

function fileJob(rel: string): WriteJob<string> {
  return {
    apply: async tree => {
      await tree.writeFile(rel, `${rel}\n`);
      return {
        result: rel,
        commit: { message: `write ${rel}\n\nService: x\n`, paths: [rel] },
      };
    },
  };
}

describe('PostgresAdvisoryLock', () => {
  it('is only offered on PostgreSQL (SQLite is one process)', async () => {
    const knex = await databases.init('SQLITE_3');
    expect(PostgresAdvisoryLock.forDatabase(knex, 'x')).toBeUndefined();
    expect(advisoryLockKeys('a')).toEqual(advisoryLockKeys('a'));
    expect(advisoryLockKeys('a')).not.toEqual(advisoryLockKeys('b'));
  });
});

(pg.length
  ? describe.each(pg)
  : describe.skip.each([['POSTGRES_16' as TestDatabaseId]]))(
  'config repo writers of two replicas on %s',
  (databaseId: TestDatabaseId) => {
    let root: string;
    let remote: string;

    beforeEach(async () => {
      root = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-pushlock-'));
      const host = new LocalGitHost({
        rootDir: path.join(root, 'git'),
        baseUrl: 'http://localhost/repos',
      });
      await host.createRepo('config', { files: { 'README.md': 'config\n' } });
      remote = host.repoPath('config');
    });
    afterEach(async () => {
      await fs.rm(root, { recursive: true, force: true });
    });

    /** Two writers (separate clones, as replicas on separate disks) writing one file after another. */
    async function race(
      lock: (replica: string) => PostgresAdvisoryLock | undefined,
      perWriter = 8,
    ) {
      // A slow push (30 ms between fetch and push) makes the windows of the two writers overlap.
      const writers = await Promise.all(
        ['a', 'b'].map(r =>
          GitOpsWriter.create({
            workDir: path.join(root, r),
            remoteUrl: remote,
            pushLock: lock(r),
            beforePush: () => sleep(30),
          }),
        ),
      );
      await Promise.all(
        writers.map(async (w, i) => {
          for (let n = 0; n < perWriter; n++)
            await w.write(fileJob(`f/${i}-${n}.txt`));
        }),
      );
      const { stdout } = await runGit(['log', '--format=%s', 'main'], {
        cwd: remote,
      });
      writers.forEach(w => w.close());
      return {
        commits: stdout.split('\n').filter(l => l.startsWith('write ')).length,
        rejected: writers.reduce((n, w) => n + w.stats.rejectedPushes, 0),
      };
    }

    it('with the lock, neither writer has a push rejected by the other; every write lands once', async () => {
      const knex = await databases.init(databaseId);
      const withLock = await race(() =>
        PostgresAdvisoryLock.forDatabase(knex, `cfg-${root}`),
      );
      expect(withLock).toEqual({ commits: 16, rejected: 0 });
    });

    it('without it (control), the same race has pushes rejected (the retry window the lock removes)', async () => {
      const without = await race(() => undefined);
      expect(without.commits).toBe(16);
      expect(without.rejected).toBeGreaterThan(0);
    });

    it('a write that cannot get its turn within the bound is a 503 and writes nothing; the next one lands', async () => {
      const knex = await databases.init(databaseId);
      const name = `cfg-held-${root}`;
      const writer = await GitOpsWriter.create({
        workDir: path.join(root, 'w'),
        remoteUrl: remote,
        pushLock: new PostgresAdvisoryLock(knex, name, 400),
      });
      const before = (
        await runGit(['rev-parse', 'main'], { cwd: remote })
      ).stdout.trim();
      // Another replica holds the lock (mid-push) longer than the bound.
      let release!: () => void;
      const held = new Promise<void>(r => (release = r));
      let holding!: () => void;
      const isHeld = new Promise<void>(r => (holding = r));
      const other = knex.transaction(async trx => {
        await trx.raw(
          'SELECT pg_advisory_xact_lock(?, ?)',
          advisoryLockKeys(name),
        );
        holding();
        await held;
      });
      await isHeld;
      const t0 = Date.now();
      await expect(writer.write(fileJob('blocked.txt'))).rejects.toBeInstanceOf(
        ServiceUnavailableError,
      );
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(
        (await runGit(['rev-parse', 'main'], { cwd: remote })).stdout.trim(),
      ).toBe(before);
      release();
      await other;
      await writer.write(fileJob('after.txt'));
      const { stdout } = await runGit(['log', '--format=%s', 'main'], {
        cwd: remote,
      });
      expect(stdout).toContain('write after.txt');
      expect(stdout).not.toContain('write blocked.txt');
      writer.close();
    });
  },
);
