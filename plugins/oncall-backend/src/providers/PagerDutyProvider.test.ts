import { mockServices } from '@backstage/backend-test-utils';
import {
  FakePagerDuty,
  REST_TOKEN,
  ROUTING_KEY,
  pdOnCall,
  startFakePagerDuty,
  pdContactMethods,
} from '../__testUtils__/fakePagerDuty';
import { deriveDedupKey } from '../dedup';
import { PagerDutyProvider, PagerDutyRejectedError } from './PagerDutyProvider';

const NOW = Date.parse('2025-06-02T12:00:00Z');
const iso = (offsetHours: number) =>
  new Date(NOW + offsetHours * 3600_000).toISOString();

describe('PagerDutyProvider against a local PagerDuty', () => {
  let pd: FakePagerDuty;
  let sleeps: number[];
  let clock: number;

  const provider = (
    overrides: Partial<ConstructorParameters<typeof PagerDutyProvider>[0]> = {},
  ) =>
    new PagerDutyProvider({
      apiToken: REST_TOKEN,
      apiBaseUrl: pd.url,
      eventsBaseUrl: pd.url,
      baseDelayMs: 100,
      maxDelayMs: 2000,
      logger: mockServices.logger.mock(),
      now: () => clock,
      sleep: async ms => {
        sleeps.push(ms);
      },
      ...overrides,
    });

  const target = {
    provider: 'pagerduty' as const,
    entityRef: 'component:default/payment-gateway',
    escalationPolicyId: 'PPOLICY',
    serviceId: 'PSERVICE',
    routingKey: ROUTING_KEY,
  };

  const trigger = (
    p: PagerDutyProvider,
    description = 'Checkout returns 502',
  ) =>
    p.trigger(target, {
      description,
      severity: 'critical',
      triggeredBy: 'user:default/anna.jensen',
      dedupKey: deriveDedupKey({
        entityRef: target.entityRef,
        description,
      }),
    });

  beforeEach(async () => {
    pd = await startFakePagerDuty();
    sleeps = [];
    clock = NOW;
  });
  afterEach(() => pd.close());

  describe('who is on call (GET /oncalls)', () => {
    it('sends the token and v2 Accept header, keeps the lowest level de-duplicated, computes next and the escalation path', async () => {
      pd.oncalls.PPOLICY = [
        // level 1: Anna now (on two schedules: appears twice), Erik next
        pdOnCall({
          level: 1,
          userId: 'PANNA',
          name: 'Anna Jensen',
          start: iso(-10),
          end: iso(14),
        }),
        pdOnCall({
          level: 1,
          userId: 'PANNA',
          name: 'Anna Jensen',
          start: iso(-2),
          end: iso(14),
        }),
        pdOnCall({
          level: 1,
          userId: 'PERIK',
          name: 'Erik Berg',
          start: iso(14),
          end: iso(38),
        }),
        // level 2 and 3, always on call (no schedule)
        pdOnCall({
          level: 3,
          userId: 'PCTO',
          name: 'Cecilia Olsen',
          start: null,
        }),
        pdOnCall({ level: 2, userId: 'PLEAD', name: 'Lars Lead', start: null }),
      ];
      pd.contactMethods.PANNA = pdContactMethods('PANNA');
      const result = await provider().getOnCall(target);

      expect(result.now.map(p => p.name)).toEqual(['Anna Jensen']);
      // the addresses come from /users/:id/contact_methods (the /oncalls users carry
      // references only); a person whose contact methods cannot be read has none shown
      expect(result.now[0]).toMatchObject({
        id: 'PANNA',
        email: 'panna@example.com',
        url: 'https://example.pagerduty.com/users/PANNA',
        contacts: [
          { type: 'phone', address: '+1 4155551234', label: 'Mobile' },
          { type: 'email', address: 'panna@bank.example', label: 'Work' },
        ],
      });
      expect(result.escalation[1].people[0].contacts).toBeUndefined();
      expect(
        pd.calls
          .filter(c => c.path.startsWith('/users/'))
          .map(c => c.path)
          .sort(),
      ).toEqual([
        '/users/PANNA/contact_methods',
        '/users/PCTO/contact_methods',
        '/users/PERIK/contact_methods',
        '/users/PLEAD/contact_methods',
      ]);
      expect(result.next.map(p => p.name)).toEqual(['Erik Berg']);
      expect(result.handoffAt).toBe(iso(14));
      expect(
        result.escalation.map(l => [l.level, l.people.map(p => p.id)]),
      ).toEqual([
        [1, ['PANNA']],
        [2, ['PLEAD']],
        [3, ['PCTO']],
      ]);

      const call = pd.calls.find(c => c.path === '/oncalls')!;
      expect(call.headers.authorization).toBe(`Token token=${REST_TOKEN}`);
      expect(call.headers.accept).toBe(
        'application/vnd.pagerduty+json;version=2',
      );
      expect(call.query.getAll('escalation_policy_ids[]')).toEqual(['PPOLICY']);
      expect(call.query.getAll('include[]')).toEqual(['users']);
    });

    it('answers an empty schedule with nobody on call', async () => {
      pd.oncalls.PPOLICY = [];
      const result = await provider().getOnCall(target);
      expect(result).toMatchObject({ now: [], next: [], escalation: [] });
    });

    it('follows pagination', async () => {
      pd.oncalls.PPOLICY = Array.from({ length: 150 }, (_, i) =>
        pdOnCall({
          level: 1 + (i % 3),
          userId: `PU${i}`,
          name: `User ${i}`,
          start: null,
        }),
      );
      const result = await provider().getOnCall(target);
      expect(result.escalation.map(l => l.people.length)).toEqual([50, 50, 50]);
      expect(pd.calls.filter(c => c.path === '/oncalls')).toHaveLength(2);
    });

    it('reports a wrong token clearly and does not retry it', async () => {
      await expect(
        provider({ apiToken: 'wrong' }).getOnCall(target),
      ).rejects.toThrow(/HTTP 401 for \/oncalls.*Authentication Required/);
      expect(pd.calls).toHaveLength(1);
    });

    it('retries a 5xx on the REST API', async () => {
      pd.oncalls.PPOLICY = [
        pdOnCall({
          level: 1,
          userId: 'PANNA',
          name: 'Anna Jensen',
          start: null,
        }),
      ];
      pd.failures['/oncalls'] = [{ status: 503 }];
      const result = await provider().getOnCall(target);
      expect(result.now.map(p => p.id)).toEqual(['PANNA']);
      expect(pd.calls.filter(c => c.path === '/oncalls')).toHaveLength(2);
    });
  });

  describe('trigger (Events API v2)', () => {
    it('202: sends routing key, trigger action, payload and dedup key; reports the dedup key as the incident id', async () => {
      const { incident } = await trigger(provider());
      const call = pd.calls.find(c => c.path === '/v2/enqueue')!;
      expect(call.body).toMatchObject({
        routing_key: ROUTING_KEY,
        event_action: 'trigger',
        payload: {
          summary: 'Checkout returns 502',
          source: 'component:default/payment-gateway',
          severity: 'critical',
        },
      });
      expect(call.body.dedup_key).toMatch(/^devplane-[0-9a-f]{32}$/);
      expect(incident).toMatchObject({
        id: call.body.dedup_key,
        status: 'triggered',
        provider: 'pagerduty',
        triggeredBy: 'user:default/anna.jensen',
      });
      expect(pd.opened.size).toBe(1);
    });

    it('a double click (and a retry) sends the same dedup key, so PagerDuty opens one incident', async () => {
      const p = provider();
      await trigger(p);
      clock += 20_000;
      await trigger(p);
      await trigger(p, 'checkout   returns 502 '); // same text, retyped
      expect(pd.calls.filter(c => c.path === '/v2/enqueue')).toHaveLength(3);
      expect(pd.opened.size).toBe(1);
      await trigger(p, 'Ledger is down');
      expect(pd.opened.size).toBe(2);
    });

    it("400: surfaces PagerDuty's validation errors and does not retry", async () => {
      const p = provider();
      await expect(
        p.trigger(
          { ...target, routingKey: 'too-short' },
          {
            description: 'x',
            severity: 'critical',
            triggeredBy: 'user:default/anna.jensen',
            dedupKey: 'k',
          },
        ),
      ).rejects.toThrow(PagerDutyRejectedError);
      await expect(
        p.trigger(
          { ...target, routingKey: 'too-short' },
          {
            description: 'x',
            severity: 'critical',
            triggeredBy: 'user:default/anna.jensen',
            dedupKey: 'k',
          },
        ),
      ).rejects.toThrow(
        "PagerDuty rejected the event (Event object is invalid): 'routing_key' is invalid",
      );
      expect(pd.calls).toHaveLength(2);
    });

    it('429: backs off (honouring Retry-After) and succeeds', async () => {
      pd.failures['/v2/enqueue'] = [
        { status: 429 },
        { status: 429, retryAfter: '1' },
      ];
      const { incident } = await trigger(provider());
      expect(incident.status).toBe('triggered');
      expect(pd.calls).toHaveLength(3);
      expect(sleeps).toEqual([100, 1000]);
      expect(pd.opened.size).toBe(1);
    });

    it('5xx: retries with bounded exponential backoff and then gives up with a clear error', async () => {
      pd.failures['/v2/enqueue'] = [500, 502, 503, 500, 500].map(status => ({
        status,
      }));
      await expect(trigger(provider())).rejects.toThrow(
        /PagerDuty Events API answered HTTP 500/,
      );
      expect(pd.calls).toHaveLength(4);
      expect(sleeps).toEqual([100, 200, 400]);
      expect(pd.opened.size).toBe(0);
    });

    it('5xx then 202 opens exactly one incident', async () => {
      pd.failures['/v2/enqueue'] = [{ status: 502 }];
      await trigger(provider());
      expect(pd.calls).toHaveLength(2);
      expect(pd.opened.size).toBe(1);
    });

    it('network failure is retried, then reported', async () => {
      const p = provider({ eventsBaseUrl: 'http://127.0.0.1:1' });
      await expect(trigger(p)).rejects.toThrow(
        /could not be reached after 4 attempts/,
      );
      expect(sleeps).toEqual([100, 200, 400]);
    });

    it('refuses to trigger without a routing key', async () => {
      await expect(
        provider().trigger(
          { ...target, routingKey: undefined },
          {
            description: 'x',
            severity: 'critical',
            triggeredBy: 'user:default/a',
            dedupKey: 'k',
          },
        ),
      ).rejects.toThrow(/No PagerDuty routing key/);
      expect(pd.calls).toHaveLength(0);
    });
  });

  it('lists open incidents of the service (GET /incidents)', async () => {
    pd.incidents.PSERVICE = [
      {
        id: 'PINC1',
        title: 'Checkout down',
        status: 'triggered',
        urgency: 'high',
        created_at: iso(-1),
        html_url: 'https://x/incidents/PINC1',
        incident_key: 'devplane-abc',
        assignments: [{ assignee: { summary: 'Anna Jensen' } }],
      },
      {
        id: 'PINC0',
        title: 'Old',
        status: 'resolved',
        urgency: 'low',
        created_at: iso(-30),
      },
    ];
    const incidents = await provider().listOpenIncidents(target);
    expect(incidents).toEqual([
      expect.objectContaining({
        id: 'PINC1',
        status: 'triggered',
        severity: 'critical',
        assignedTo: 'Anna Jensen',
        actionable: false,
      }),
    ]);
    expect(pd.calls[0].query.getAll('statuses[]')).toEqual([
      'triggered',
      'acknowledged',
    ]);
  });

  describe('cache', () => {
    it('1,000 lookups within a minute make one upstream call per escalation policy', async () => {
      pd.oncalls.PPOLICY = [
        pdOnCall({
          level: 1,
          userId: 'PANNA',
          name: 'Anna Jensen',
          start: null,
        }),
      ];
      pd.oncalls.PLENDING = [
        pdOnCall({ level: 1, userId: 'PERIK', name: 'Erik Berg', start: null }),
      ];
      const p = provider();
      const policies = ['PPOLICY', 'PLENDING'];
      // 200 concurrent cold misses, then 800 lookups spread over 59 seconds.
      await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          p.getOnCall({ ...target, escalationPolicyId: policies[i % 2] }),
        ),
      );
      for (let i = 0; i < 800; i++) {
        clock = NOW + Math.floor((i / 800) * 59_000);
        const r = await p.getOnCall({
          ...target,
          escalationPolicyId: policies[i % 2],
        });
        expect(r.now).toHaveLength(1);
      }
      const perPolicy = policies.map(
        policy =>
          pd.calls.filter(
            c => c.query.get('escalation_policy_ids[]') === policy,
          ).length,
      );
      // eslint-disable-next-line no-console
      console.log(
        `oncall cache: 1000 lookups over 59 s for ${
          policies.length
        } policies -> upstream calls per policy: ${perPolicy.join(
          ', ',
        )} (total ${pd.calls.filter(c => c.path === '/oncalls').length})`,
      );
      expect(perPolicy).toEqual([1, 1]);

      clock = NOW + 61_000;
      await p.getOnCall(target);
      expect(pd.calls.filter(c => c.path === '/oncalls')).toHaveLength(3);
    });

    it('does not cache failures', async () => {
      pd.oncalls.PPOLICY = [
        pdOnCall({
          level: 1,
          userId: 'PANNA',
          name: 'Anna Jensen',
          start: null,
        }),
      ];
      pd.failures['/oncalls'] = [500, 500, 500, 500].map(status => ({
        status,
      }));
      const p = provider();
      await expect(p.getOnCall(target)).rejects.toThrow();
      await expect(p.getOnCall(target)).resolves.toMatchObject({
        now: [expect.objectContaining({ id: 'PANNA' })],
      });
    });
  });
});
