import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { ReleaseManagerStore } from '../database/ReleaseManagerStore';
import { PushProgressStore } from './PushProgressStore';

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

describe('PushProgressStore long poll', () => {
  async function createStore() {
    const knex = await databases.init('SQLITE_3');
    // the plugin's migrations create rm_push_progress
    await ReleaseManagerStore.create({ database: mockServices.database({ knex, migrations: { skip: false } }) });
    return new PushProgressStore(knex);
  }

  const first = { step: 'received', status: 'done' as const, message: 'received' };

  it('answers a burst of steps (artifact, then each release) in one answer', async () => {
    const store = await createStore();
    const p = await store.start(
      { service: 'ledger', repo: 'ledger', branch: 'main', sha: 'a'.repeat(40), pusher: 'user:default/anna', source: 'local-git-host' },
      first,
    );
    const waiting = store.waitForChange('ledger', p.updatedAt, 5000);
    await new Promise(r => setTimeout(r, 20));
    // recorded one after the other, as PushToArtifact does after the upload
    await store.addStep(p.id, { step: 'artifact', status: 'done', message: 'artifact' }, { state: 'artifact-created' });
    await store.addStep(p.id, { step: 'release:dev', status: 'done', message: 'dev' });
    await store.addStep(p.id, { step: 'release:prod', status: 'done', message: 'prod' }, { state: 'released' });
    const [answer] = await waiting;
    expect(answer.steps.map(s => s.step)).toEqual(['received', 'artifact', 'release:dev', 'release:prod']);
  });

  it('still answers within the burst limit when changes keep coming', async () => {
    const store = await createStore();
    const p = await store.start(
      { service: 'busy', repo: 'busy', branch: 'main', sha: 'b'.repeat(40), pusher: 'user:default/anna', source: 'local-git-host' },
      first,
    );
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop && i < 200; i++) {
        await store.addStep(p.id, { step: `s${i}`, status: 'done', message: `${i}` });
        await new Promise(r => setTimeout(r, 10));
      }
    })();
    const started = Date.now();
    const [answer] = await store.waitForChange('busy', p.updatedAt, 5000);
    const took = Date.now() - started;
    stop = true;
    await writer;
    expect(answer.steps.length).toBeGreaterThan(1);
    expect(took).toBeLessThan(1000);
  });

  it('answers at once when a change is already stored, and after waitMs when none comes', async () => {
    const store = await createStore();
    const p = await store.start(
      { service: 'quiet', repo: 'quiet', branch: 'main', sha: 'c'.repeat(40), pusher: 'user:default/anna', source: 'local-git-host' },
      first,
    );
    expect(await store.waitForChange('quiet', new Date(0).toISOString(), 5000)).toHaveLength(1);
    const started = Date.now();
    const [same] = await store.waitForChange('quiet', p.updatedAt, 300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(same.steps).toHaveLength(1);
  });
});
