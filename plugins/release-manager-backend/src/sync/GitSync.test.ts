import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mockServices, TestDatabaseId, TestDatabases } from '@backstage/backend-test-utils';
import { LocalGitHost, runGit } from '@devplane/plugin-git-host-node';
import type { ArtifactSpec } from '@devplane/plugin-release-manager-common';
import type { Knex } from 'knex';
import { DatabaseBlobStore } from '../blobs/DatabaseBlobStore';
import { DEFAULT_ENVIRONMENTS } from '../config';
import { ReleaseManagerStore } from '../database/ReleaseManagerStore';
import { GitOpsWriter } from '../git/GitOpsWriter';
import { PostgresPushHandoff } from '../git/pushHandoff';
import { PostgresAdvisoryLock } from '../git/PushLock';
import { OpenPgpCommitSigner, stopGpgAgent } from '../git/Signer';
import { Notifier } from '../service/Notifier';
import { ReleaseManager } from '../service/ReleaseManager';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_16'] });
const pg = databases.eachSupportedId();
const ACTOR = { ref: 'user:default/alice', email: 'alice@bank.example' };

function spec(service: string, n: number): ArtifactSpec {
  const sha = `${String(n).padStart(2, '0')}`.repeat(20);
  return {
    id: `main-${sha.slice(0, 10)}-abcdefabcd`,
    service,
    namespace: 'default',
    application: {
      branch: 'main',
      sha,
      authorName: 'Ada',
      authorEmail: 'ada@bank.example',
      message: `build ${n}`,
      name: service,
      url: `http://localhost/repos/${service}`,
      provider: 'local-git-host',
    },
    ci: { start: '2026-12-01T10:00:00Z', end: '2026-12-01T10:04:00Z' },
    shuttle: { plan: { ref: 'demo' }, shuttleVersion: '0.21.0' },
    stages: [{ id: 'build', name: 'Build' }],
  };
}

// Replicas share PostgreSQL (the push lock and hand-over need it): skipped where none is set.
(pg.length ? describe.each(pg) : describe.skip.each([['POSTGRES_16' as TestDatabaseId]]))('index sync across replicas, %p', databaseId => {
  let root: string;
  let knex: Knex;
  let remote: string;
  let signer: OpenPgpCommitSigner;
  const managers: ReleaseManager[] = [];

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-sync-'));
    signer = await OpenPgpCommitSigner.fromGnupgHome({ gnupgHome: path.join(root, 'gnupg'), name: 'RM', email: 'rm@x' });
  });
  afterAll(async () => {
    await stopGpgAgent(path.join(root, 'gnupg'));
    await fs.rm(root, { recursive: true, force: true });
  });
  beforeEach(async () => {
    knex = await databases.init(databaseId);
    const host = new LocalGitHost({ rootDir: await fs.mkdtemp(path.join(root, 'git-')), baseUrl: 'http://localhost/repos' });
    await host.createRepo('config', { files: { 'README.md': 'config\n' } });
    remote = host.repoPath('config');
  });
  afterEach(() => {
    managers.splice(0).forEach(m => m.writer.close());
  });

  /** A replica as plugin.ts wires one: own clone, shared database, push lock and hand-over. */
  async function replica(name: string) {
    const writer = await GitOpsWriter.create({
      workDir: await fs.mkdtemp(path.join(root, `${name}-`)),
      remoteUrl: remote,
      pushLock: PostgresAdvisoryLock.forDatabase(knex, 'cfg'),
      handoff: new PostgresPushHandoff(knex, 'cfg'),
    });
    const manager = new ReleaseManager({
      store: await ReleaseManagerStore.create({ database: mockServices.database({ knex }) }),
      blobs: new DatabaseBlobStore(knex),
      writer,
      environments: DEFAULT_ENVIRONMENTS,
      notifier: new Notifier({ logger: mockServices.logger.mock() }),
      logger: mockServices.logger.mock(),
      configRepoKey: 'cfg',
      signer,
    });
    managers.push(manager);
    return manager;
  }

  it("numbers the commits written after the other replica's hand-over from the written bytes, as git counts them", async () => {
    const a = await replica('a');
    const b = await replica('b');
    const ids: Record<string, string[]> = { 'svc-a': [], 'svc-b': [] };
    for (const service of Object.keys(ids)) {
      for (let n = 1; n <= 3; n++) {
        const up = await a.uploadArtifact({ spec: spec(service, n), manifests: { dev: { 'd.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c${n}\n` } } }, ACTOR);
        ids[service].push(up.artifact.id);
      }
    }
    const release = (m: ReleaseManager, service: string, n: number) =>
      m.release({ service, environment: 'dev', artifactId: ids[service][n] }, ACTOR);
    // a and b take turns: each write builds on the other's push, handed over through the database.
    await release(a, 'svc-a', 0);
    await release(b, 'svc-b', 0);
    await release(a, 'svc-a', 1);
    await release(b, 'svc-b', 1);
    const readsA = jest.spyOn(a.reader, 'commits');
    const readsB = jest.spyOn(b.reader, 'commits');
    await release(a, 'svc-a', 2);
    await release(b, 'svc-b', 2);
    // Once warm, neither replica reads the history through git to index its own push.
    expect(readsA).not.toHaveBeenCalled();
    expect(readsB).not.toHaveBeenCalled();

    // Every release row carries its commit's first-parent position as git counts it.
    const rows: { id: string; commit_seq: number }[] = await knex('rm_releases').select('id', 'commit_seq');
    expect(rows).toHaveLength(6);
    for (const row of rows) {
      const { stdout } = await runGit(['rev-list', '--count', '--first-parent', row.id], { cwd: remote });
      expect({ id: row.id, seq: Number(row.commit_seq) }).toEqual({ id: row.id, seq: Number(stdout.trim()) });
    }
    // Each service's log, newest first, is the order of its commits on the remote.
    const { stdout: log } = await runGit(['log', '--format=%H', '--first-parent', 'main'], { cwd: remote });
    const order = log.trim().split('\n');
    for (const service of Object.keys(ids)) {
      const page = await b.listReleases(service, { limit: 10 });
      const listed = page.items.map(r => r.id);
      expect(listed).toHaveLength(3);
      expect(listed).toEqual([...listed].sort((x, y) => order.indexOf(x) - order.indexOf(y)));
    }
  });
});
