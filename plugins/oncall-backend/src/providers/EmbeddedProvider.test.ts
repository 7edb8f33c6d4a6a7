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

  async function setup(databaseId: string) {
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
      rotation,
    };
    const trigger = (description: string, user = 'user:default/kim.ek') =>
      provider.trigger(target, {
        description,
        severity: 'critical',
        triggeredBy: user,
        dedupKey: deriveDedupKey({
          entityRef: target.entityRef,
          userRef: user,
          description,
          now: clock,
          bucketMs: 300_000,
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
