import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { ConflictError } from '@backstage/errors';
import type { ArtifactSpec } from '@devplane/plugin-release-manager-common';
import { ReleaseManagerStore } from './ReleaseManagerStore';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });

function spec(service: string, n: number, branch = 'main'): ArtifactSpec {
  return {
    id: `${branch.replace(/\//g, '-')}-${String(n).padStart(10, '0')}-aaaaaaaaaa`,
    service,
    namespace: 'payments',
    squad: 'payments',
    application: {
      branch,
      sha: String(n).padStart(40, '0'),
      authorName: 'Ada',
      authorEmail: 'ada@example.com',
      message: `change ${n}`,
      name: service,
    },
  };
}

describe.each(databases.eachSupportedId())('ReleaseManagerStore on %s', databaseId => {
  async function createStore() {
    const knex = await databases.init(databaseId);
    const store = await ReleaseManagerStore.create({
      database: mockServices.database({ knex, migrations: { skip: false } }),
    });
    return { knex, store };
  }

  it('stores artifacts, lists them newest first with paging and branch filter', async () => {
    const { store } = await createStore();
    for (let i = 1; i <= 5; i++) {
      await store.insertArtifact({ spec: spec('ledger', i), environments: ['dev'], createdBy: 'ci' });
    }
    await store.insertArtifact({ spec: spec('ledger', 6, 'feature/x'), environments: ['dev'], createdBy: 'ci' });
    await store.insertArtifact({ spec: spec('other', 1), environments: ['dev'], createdBy: 'ci' });

    const first = await store.listArtifacts('ledger', { limit: 4 });
    expect(first.total).toBe(6);
    expect(first.items.map(a => a.sha.slice(-1))).toEqual(['6', '5', '4', '3']);
    expect(first.nextCursor).toBeDefined();
    const second = await store.listArtifacts('ledger', { limit: 4, cursor: first.nextCursor });
    expect(second.items.map(a => a.sha.slice(-1))).toEqual(['2', '1']);
    expect(second.nextCursor).toBeUndefined();

    const feature = await store.listArtifacts('ledger', { branch: 'feature/x' });
    expect(feature.items).toHaveLength(1);
    expect(feature.items[0].spec.application.branch).toBe('feature/x');

    await expect(
      store.insertArtifact({ spec: spec('ledger', 1), environments: ['dev'], createdBy: 'ci' }),
    ).rejects.toThrow(ConflictError);
    expect(await store.servicesOfSquad('payments')).toEqual(expect.arrayContaining(['ledger', 'other']));
    await expect(store.listArtifacts('ledger', { cursor: '!!' })).rejects.toThrow(/cursor/);
  });

  it('records releases idempotently, answers latest per environment and rollout status', async () => {
    const { store } = await createStore();
    const base = {
      service: 'ledger',
      namespace: 'payments',
      intent: 'release' as const,
      releasedBy: 'ada@example.com',
      commitTitle: 't',
    };
    await store.insertReleases('repo', [
      { ...base, id: 'c1', environment: 'dev', artifactId: 'a1', releasedAt: '2026-01-01T00:00:00.000Z' },
      { ...base, id: 'c2', environment: 'prod', artifactId: 'a1', releasedAt: '2026-01-01T00:01:00.000Z' },
      { ...base, id: 'c3', environment: 'dev', artifactId: 'a2', releasedAt: '2026-01-01T00:02:00.000Z' },
    ]);
    // Same commits again (a git sync after our own insert) change nothing.
    await store.insertReleases('repo', [
      { ...base, id: 'c3', environment: 'dev', artifactId: 'a2', releasedAt: '2026-01-01T00:02:00.000Z' },
    ]);
    expect(await store.countReleases('repo')).toBe(3);
    expect(await store.countReleases('other-repo')).toBe(0);
    const latest = await store.findRelease('repo', 'ledger', 'dev', 'a2');
    expect(latest?.id).toBe('c3');
    expect(latest?.rollout.state).toBe('pending');

    await store.setRolloutStatus('c3', { state: 'failed', ready: 0, desired: 2, logLines: ['panic'] });
    await store.setRolloutStatus('c3', { state: 'succeeded', ready: 2, desired: 2 });
    const r = await store.getRelease('repo', 'c3');
    expect(r?.rollout).toMatchObject({ state: 'succeeded', ready: 2, desired: 2 });

    const page = await store.listReleases('repo', 'ledger', { limit: 2 });
    expect(page.items.map(x => x.id)).toEqual(['c3', 'c2']);
    const page2 = await store.listReleases('repo', 'ledger', { limit: 2, cursor: page.nextCursor });
    expect(page2.items.map(x => x.id)).toEqual(['c1']);
    const dev = await store.listReleases('repo', 'ledger', { environment: 'dev' });
    expect(dev.total).toBe(2);

    const since = await store.releasesSince('repo', ['ledger'], '2026-01-01T00:00:30.000Z');
    expect(since.map(x => x.id)).toEqual(['c3', 'c2']);

    await store.setSyncMarker('repo', 'c3');
    await store.setSyncMarker('repo', 'c4');
    expect(await store.getSyncMarker('repo')).toBe('c4');
  });
});
