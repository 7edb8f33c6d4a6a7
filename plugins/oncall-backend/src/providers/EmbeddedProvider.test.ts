import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { OnCallStore } from '../database/OnCallStore';
import { deriveDedupKey } from '../dedup';
import { EmbeddedProvider } from './EmbeddedProvider';
import { computeRotation } from './rotation';
import { Rotation } from './types';

jest.setTimeout(60_000);

const rotation: Rotation = {
  name: 'payments',
  members: [
    'user:default/anna.jensen',
    'user:default/erik.berg',
    'user:default/sofia.lind',
  ],
  handoffTime: '09:00',
  lengthDays: 7,
  start: '2025-01-06', // a Monday
  escalation: ['user:default/lars.holm'],
  source: 'config',
};

const escalating: Rotation = {
  ...rotation,
  escalationLevels: [['user:default/lars.holm'], ['user:default/maja.berg']],
  escalateAfterMinutes: 10,
};

describe('computeRotation', () => {
  it('hands over at the handoff time after lengthDays, cycling through members', () => {
    const at = (iso: string) => computeRotation(rotation, Date.parse(iso));
    expect(at('2025-01-06T09:00:00Z')).toMatchObject({
      current: 'user:default/anna.jensen',
      next: 'user:default/erik.berg',
    });
    expect(at('2025-01-13T08:59:59Z').current).toBe('user:default/anna.jensen');
    expect(at('2025-01-13T09:00:00Z').current).toBe('user:default/erik.berg');
    expect(at('2025-01-20T09:00:00Z')).toMatchObject({
      current: 'user:default/sofia.lind',
      next: 'user:default/anna.jensen',
    });
    expect(at('2025-01-27T10:00:00Z').current).toBe('user:default/anna.jensen');
    expect(new Date(at('2025-01-14T00:00:00Z').handoffAt).toISOString()).toBe(
      '2025-01-20T09:00:00.000Z',
    );
    // before the start, the rotation runs backwards consistently
    expect(at('2025-01-06T08:00:00Z').current).toBe('user:default/sofia.lind');
  });

  it('rejects nonsense', () => {
    expect(() =>
      computeRotation({ ...rotation, handoffTime: '25:00' }, 0),
    ).toThrow(/HH:MM/);
    expect(() => computeRotation({ ...rotation, lengthDays: 0 }, 0)).toThrow(
      /positive/,
    );
  });
});

describe('EmbeddedProvider', () => {
  const databases = TestDatabases.create({ ids: ['POSTGRES_16', 'SQLITE_3'] });

  async function setup(databaseId: string, withRotation: Rotation = rotation) {
    const knex = await databases.init(databaseId as any);
    const store = await OnCallStore.create({
      database: mockServices.database({ knex, migrations: { skip: false } }),
    });
    const notifications = { send: jest.fn(async () => {}) };
    let clock = Date.parse('2025-01-07T12:00:00Z');
    const provider = new EmbeddedProvider({
      store,
      people: {
        describe: async refs =>
          refs.map(id => ({
            id,
            name: id.split('/')[1],
            email: `${id.split('/')[1]}@example.com`,
          })),
      },
      notifications,
      logger: mockServices.logger.mock(),
      now: () => clock,
    });
    const target = {
      provider: 'embedded' as const,
      entityRef: 'component:default/ledger',
      rotation: withRotation,
    };
    const trigger = (description: string, user = 'user:default/kim.ek') =>
      provider.trigger(target, {
        description,
        severity: 'critical',
        triggeredBy: user,
        dedupKey: deriveDedupKey({
          entityRef: target.entityRef,
          description,
        }),
      });
    return {
      knex,
      store,
      provider,
      notifications,
      target,
      trigger,
      tick: (ms: number) => (clock += ms),
    };
  }

  it.each(databases.eachSupportedId())(
    'answers who is on call now and next, with the escalation path, on %p',
    async databaseId => {
      const { provider, target } = await setup(databaseId);
      const result = await provider.getOnCall(target);
      expect(result.now.map(p => p.id)).toEqual(['user:default/anna.jensen']);
      expect(result.next.map(p => p.id)).toEqual(['user:default/erik.berg']);
      expect(result.handoffAt).toBe('2025-01-13T09:00:00.000Z');
      expect(result.escalation).toEqual([
        {
          level: 1,
          people: [expect.objectContaining({ id: 'user:default/anna.jensen' })],
        },
        {
          level: 2,
          people: [expect.objectContaining({ id: 'user:default/lars.holm' })],
        },
      ]);
    },
  );

  it.each(databases.eachSupportedId())(
    'stores incidents, notifies the on-call person, deduplicates, acknowledges and resolves, on %p',
    async databaseId => {
      const { provider, notifications, target, trigger, tick, store } =
        await setup(databaseId);

      const first = await trigger('Ledger double-posts');
      expect(first.deduplicated).toBe(false);
      expect(first.incident).toMatchObject({
        status: 'triggered',
        triggeredBy: 'user:default/kim.ek',
        assignedTo: 'user:default/anna.jensen',
        actionable: true,
      });
      expect(notifications.send).toHaveBeenCalledTimes(1);
      expect(notifications.send).toHaveBeenCalledWith(
        expect.objectContaining({
          recipients: {
            type: 'entity',
            entityRef: ['user:default/anna.jensen'],
          },
          payload: expect.objectContaining({
            severity: 'critical',
            title: expect.stringContaining('component:default/ledger'),
          }),
        }),
      );

      tick(2_000);
      const again = await trigger('Ledger double-posts');
      expect(again).toMatchObject({
        deduplicated: true,
        incident: { id: first.incident.id },
      });
      expect(notifications.send).toHaveBeenCalledTimes(1);

      // concurrent identical triggers (a double click) open one incident
      const burst = await Promise.all([
        trigger('Ledger is slow'),
        trigger('Ledger is slow'),
        trigger('Ledger is slow'),
      ]);
      expect(new Set(burst.map(b => b.incident.id)).size).toBe(1);

      expect(
        (await provider.listOpenIncidents(target)).map(i => i.title).sort(),
      ).toEqual(['Ledger double-posts', 'Ledger is slow']);

      const acked = await provider.acknowledge(
        first.incident.id,
        'user:default/anna.jensen',
      );
      expect(acked).toMatchObject({
        status: 'acknowledged',
        acknowledgedBy: 'user:default/anna.jensen',
      });
      const resolved = await provider.resolve(
        first.incident.id,
        'user:default/anna.jensen',
      );
      expect(resolved).toMatchObject({
        status: 'resolved',
        resolvedBy: 'user:default/anna.jensen',
        actionable: false,
      });
      await expect(
        provider.acknowledge(first.incident.id, 'user:default/anna.jensen'),
      ).rejects.toThrow(/already resolved/);
      await expect(
        store.getIncident('00000000-0000-4000-8000-000000000000'),
      ).rejects.toThrow(/No incident/);

      expect(
        (await provider.listOpenIncidents(target)).map(i => i.title),
      ).toEqual(['Ledger is slow']);

      // once resolved, the same trigger opens a new incident (as PagerDuty does)
      const reopened = await trigger('Ledger double-posts');
      expect(reopened.deduplicated).toBe(false);
      expect(reopened.incident.id).not.toBe(first.incident.id);
      expect(reopened.incident.status).toBe('triggered');
    },
  );

  it.each(databases.eachSupportedId())(
    'two people reporting the same outage make one incident; the second joined it, on %p',
    async databaseId => {
      const { trigger, tick, notifications, provider, target } = await setup(
        databaseId,
      );
      const first = await trigger(
        'Ledger double-posts transfers',
        'user:default/kim.ek',
      );
      tick(7 * 60_000); // minutes later, another engineer, other spacing and case
      const second = await trigger(
        '  ledger DOUBLE-posts   transfers ',
        'user:default/ole.dam',
      );
      expect(first).toMatchObject({ deduplicated: false });
      expect(second).toMatchObject({
        deduplicated: true,
        joined: true,
        incident: { id: first.incident.id },
      });
      expect(second.incident.reporters).toEqual([
        'user:default/kim.ek',
        'user:default/ole.dam',
      ]);
      expect(second.incident.timeline?.map(e => e.type)).toEqual([
        'triggered',
        'paged',
        'joined',
      ]);
      // the on-call person is paged once, not per reporter
      expect(notifications.send).toHaveBeenCalledTimes(1);
      expect(await provider.listOpenIncidents(target)).toHaveLength(1);
      // the first reporter pressing again is a plain duplicate, not a join
      const again = await trigger(
        'Ledger double-posts transfers',
        'user:default/kim.ek',
      );
      expect(again).toMatchObject({ deduplicated: true, joined: false });
      // a different summary is a different incident
      const other = await trigger('Ledger is down', 'user:default/ole.dam');
      expect(other.deduplicated).toBe(false);
    },
  );

  it.each(databases.eachSupportedId())(
    'an unacknowledged incident pages level 2, then level 3; acknowledging stops it, on %p',
    async databaseId => {
      const { trigger, tick, notifications, provider, store } = await setup(
        databaseId,
        escalating,
      );
      const { incident } = await trigger('Ledger rejects every posting');
      expect(incident).toMatchObject({
        escalationLevel: 1,
        escalationLevels: 3,
      });
      const pagedTo = () =>
        (notifications.send.mock.calls as any[]).map(
          ([n]) => n.recipients.entityRef,
        );
      expect(pagedTo()).toEqual([['user:default/anna.jensen']]);

      tick(9 * 60_000);
      expect(await provider.escalateDue()).toBe(0);
      tick(60_000);
      expect(await provider.escalateDue()).toBe(1);
      // a second run at the same moment (another replica) pages nobody again
      expect(await provider.escalateDue()).toBe(0);
      let now = await store.getIncident(incident.id);
      expect(now.escalationLevel).toBe(2);
      expect(pagedTo()).toEqual([
        ['user:default/anna.jensen'],
        ['user:default/lars.holm'],
      ]);

      tick(10 * 60_000);
      expect(await provider.escalateDue()).toBe(1);
      now = await store.getIncident(incident.id);
      expect(now.escalationLevel).toBe(3);
      expect(
        now.timeline?.map(e => `${e.type}${e.level ? `@${e.level}` : ''}`),
      ).toEqual([
        'triggered',
        'paged@1',
        'escalated@2',
        'paged@2',
        'escalated@3',
        'paged@3',
      ]);
      expect(now.timeline?.find(e => e.type === 'escalated')).toMatchObject({
        people: ['user:default/lars.holm'],
        detail: 'not acknowledged at level 1',
      });

      // no level 4: nothing more to page
      tick(60 * 60_000);
      expect(await provider.escalateDue()).toBe(0);

      // an acknowledged incident does not escalate
      const second = await trigger('Ledger is slow');
      await provider.acknowledge(second.incident.id, 'user:default/anna.jensen');
      tick(60 * 60_000);
      expect(await provider.escalateDue()).toBe(0);
      expect(
        (await store.getIncident(second.incident.id)).timeline?.map(
          e => e.type,
        ),
      ).toEqual(['triggered', 'paged', 'acknowledged']);
    },
  );

  it.each(databases.eachSupportedId())(
    'a page that could not be delivered is in the timeline as notification-failed, on %p',
    async databaseId => {
      const { trigger, notifications } = await setup(databaseId);
      notifications.send.mockRejectedValueOnce(new Error('notifications down'));
      const { incident } = await trigger('Ledger down');
      expect(incident.timeline?.map(e => e.type)).toEqual([
        'triggered',
        'notification-failed',
      ]);
    },
  );

  it.each(databases.eachSupportedId())(
    'counts triggers per user and service for the rate limit, on %p',
    async databaseId => {
      const { store } = await setup(databaseId);
      const t0 = Date.parse('2025-01-07T12:00:00Z');
      for (const [user, offset] of [
        ['a', 0],
        ['a', 10_000],
        ['a', 70_000],
        ['b', 20_000],
      ] as const) {
        await store.recordTrigger({
          entityRef: 'component:default/ledger',
          userRef: `user:default/${user}`,
          provider: 'embedded',
          dedupKey: 'k',
          now: new Date(t0 + offset),
        });
      }
      const since = new Date(t0 + 75_000 - 60_000);
      expect(
        await store.countTriggersSince(
          'user:default/a',
          'component:default/ledger',
          since,
        ),
      ).toBe(1);
      expect(
        await store.countTriggersSince(
          'user:default/a',
          'component:default/ledger',
          new Date(t0 - 1),
        ),
      ).toBe(3);
      expect(
        await store.countTriggersSince(
          'user:default/a',
          'component:default/other',
          new Date(t0 - 1),
        ),
      ).toBe(0);
    },
  );
});
