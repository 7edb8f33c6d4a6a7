import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { coreServices, createServiceFactory } from '@backstage/backend-plugin-api';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { notificationService } from '@backstage/plugin-notifications-node';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import request from 'supertest';
import {
  FakePagerDuty,
  REST_TOKEN,
  ROUTING_KEY,
  pdOnCall,
  startFakePagerDuty,
} from './__testUtils__/fakePagerDuty';
import { oncallPlugin } from './plugin';

jest.setTimeout(60_000);

const component = (
  name: string,
  owner: string,
  annotations: Record<string, string> = {},
): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name, namespace: 'default', annotations },
  spec: { type: 'service', lifecycle: 'production', owner },
  relations: [{ type: 'ownedBy', targetRef: `group:default/${owner}` }],
});

const entities: Entity[] = [
  component('ledger', 'payments'),
  component('loan-engine', 'lending'),
  component('kyc-checker', 'onboarding'),
  // a component whose shuttle vars.service differs from its name
  component('cards-web', 'payments', {
    'devplane.io/shuttle-service': 'cards',
  }),
  component('payment-gateway', 'payments', {
    'pagerduty.com/escalation-policy-id': 'PPOLICY',
    'pagerduty.com/service-id': 'PSERVICE',
  }),
  {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Group',
    metadata: {
      name: 'lending',
      namespace: 'default',
      annotations: {
        'devplane.io/oncall-members': 'maria.nilsson, johan.ek',
        'devplane.io/oncall-length-days': '1',
      },
    },
    spec: { type: 'team', children: [] },
  },
  {
    apiVersion: 'backstage.io/v1',
    kind: 'User',
    metadata: { name: 'anna.jensen', namespace: 'default' },
    spec: {
      profile: { displayName: 'Anna Jensen', email: 'anna.jensen@example.com' },
      memberOf: ['payments'],
    },
  },
];

const ANNA = 'user:default/anna.jensen';
const KIM = 'user:default/kim.ek';

describe('oncall backend (router)', () => {
  let pd: FakePagerDuty;
  const sent: any[] = [];

  beforeAll(async () => {
    pd = await startFakePagerDuty();
    pd.oncalls.PPOLICY = [
      pdOnCall({ level: 1, userId: 'PANNA', name: 'Anna Jensen', start: null }),
    ];
  });
  afterAll(() => pd.close());

  async function start(
    options: {
      permission?: AuthorizeResult.ALLOW | AuthorizeResult.DENY;
      /** The policy's answer per permission name (the real policy is tested in packages/backend). */
      decide?: (permission: string, user?: string) => AuthorizeResult.ALLOW | AuthorizeResult.DENY;
    } = {},
  ) {
    const { server } = await startTestBackend({
      features: [
        oncallPlugin,
        mockServices.rootConfig.factory({
          data: {
            oncall: {
              rotations: [
                {
                  name: 'payments',
                  members: ['anna.jensen', 'user:default/erik.berg'],
                  handoffTime: '09:00',
                  lengthDays: 366,
                  start: new Date(Date.now() - 86400_000)
                    .toISOString()
                    .slice(0, 10),
                },
              ],
              pagerduty: {
                apiToken: REST_TOKEN,
                apiBaseUrl: pd.url,
                eventsBaseUrl: pd.url,
                services: { PSERVICE: { routingKey: ROUTING_KEY } },
              },
            },
          },
        }),
        catalogServiceMock.factory({ entities }),
        createServiceFactory({
          service: notificationService,
          deps: {},
          factory: () => ({ send: async (n: any) => void sent.push(n) }),
        }),
        ...(options.permission
          ? [mockServices.permissions.factory({ result: options.permission })]
          : []),
        ...(options.decide
          ? [
              createServiceFactory({
                service: coreServices.permissions,
                deps: {},
                factory: () =>
                  ({
                    authorize: async (requests: any[], opts: any) =>
                      requests.map(r => ({
                        result: options.decide!(
                          r.permission.name,
                          opts?.credentials?.principal?.userEntityRef,
                        ),
                      })),
                    authorizeConditional: async (requests: any[]) =>
                      requests.map(() => ({ result: AuthorizeResult.DENY })),
                  }) as any,
              }),
            ]
          : []),
      ],
    });
    return server;
  }

  it('requires authentication (401)', async () => {
    const server = await start();
    // (without any header the test backend assumes a default user, so send an explicitly unauthenticated one)
    await request(server)
      .get('/api/oncall/entities/component/default/ledger/oncall')
      .set('Authorization', mockCredentials.none.header())
      .expect(401);
    await request(server)
      .post(
        '/api/oncall/incidents/00000000-0000-4000-8000-000000000000/resolve',
      )
      .set('Authorization', mockCredentials.none.header())
      .expect(401);
    await request(server)
      .post('/api/oncall/entities/component/default/ledger/incidents')
      .set('Authorization', mockCredentials.none.header())
      .send({ description: 'x' })
      .expect(401);
    expect(sent).toHaveLength(0);
  });

  it('serves its OpenAPI document without credentials, and every documented route exists behind auth', async () => {
    const server = await start();
    const doc = await request(server)
      .get('/api/oncall/openapi.json')
      .set('Authorization', mockCredentials.none.header())
      .expect(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    const paths = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>);
    expect(paths.length).toBeGreaterThanOrEqual(5);
    for (const [template, methods] of paths) {
      if (template === '/openapi.json') continue;
      const url = `/api/oncall${template
        .replace('{kind}', 'component')
        .replace('{namespace}', 'default')
        .replace('{name}', 'ledger')
        .replace('{id}', '00000000-0000-4000-8000-000000000000')}`;
      for (const method of Object.keys(methods)) {
        // an undocumented or missing route would answer 404; a real one asks for credentials
        const res = await (request(server) as any)
          [method](url)
          .set('Authorization', mockCredentials.none.header());
        expect({ method, url, status: res.status }).toEqual({ method, url, status: 401 });
      }
    }
  });

  it('answers who is on call from a config rotation, and from Group annotations', async () => {
    const server = await start();
    const res = await request(server)
      .get('/api/oncall/entities/component/default/ledger/oncall')
      .set('Authorization', mockCredentials.user.header(KIM))
      .expect(200);
    expect(res.body).toMatchObject({
      configured: true,
      provider: 'embedded',
      schedule: 'payments',
      now: [
        { id: ANNA, name: 'Anna Jensen', email: 'anna.jensen@example.com' },
      ],
      next: [{ id: 'user:default/erik.berg' }],
      openIncidents: [],
      canTrigger: true,
    });
    const lending = await request(server)
      .get('/api/oncall/entities/component/default/loan-engine/oncall')
      .set('Authorization', mockCredentials.user.header(KIM))
      .expect(200);
    expect(lending.body).toMatchObject({
      configured: true,
      provider: 'embedded',
      schedule: 'lending',
    });
    expect(['user:default/maria.nilsson', 'user:default/johan.ek']).toContain(
      lending.body.now[0].id,
    );
  });

  it('explains how to configure on-call when there is none', async () => {
    const server = await start();
    const res = await request(server)
      .get('/api/oncall/entities/component/default/kyc-checker/oncall')
      .set('Authorization', mockCredentials.user.header(KIM))
      .expect(200);
    expect(res.body.configured).toBe(false);
    expect(res.body.help).toMatch(/oncall\.rotations/);
    const trigger = await request(server)
      .post('/api/oncall/entities/component/default/kyc-checker/incidents')
      .set('Authorization', mockCredentials.user.header(KIM))
      .send({ description: 'down' })
      .expect(400);
    expect(trigger.body.error.message).toMatch(/no on-call configuration/);
    await request(server)
      .get('/api/oncall/entities/component/default/nope/oncall')
      .set('Authorization', mockCredentials.user.header(KIM))
      .expect(404);
  });

  it('triggers with the identity from the credentials, rate-limits per user and service, acknowledges, resolves and reports the freeze', async () => {
    const server = await start();
    const auth = mockCredentials.user.header(KIM);
    const base = '/api/oncall/entities/component/default/ledger';

    const missing = await request(server)
      .post(`${base}/incidents`)
      .set('Authorization', auth)
      .send({ severity: 'critical' })
      .expect(400);
    expect(missing.body.error.message).toMatch(/description is required/);
    await request(server)
      .post(`${base}/incidents`)
      .set('Authorization', auth)
      .send({ description: 'x', severity: 'apocalyptic' })
      .expect(400);

    // A spoofed identity in the body is refused (identity always comes from credentials), and
    // nothing is written: no notification, and the next trigger is not a deduplicated one.
    const sentBefore = sent.length;
    const spoofed = await request(server)
      .post(`${base}/incidents`)
      .set('Authorization', auth)
      .send({
        description: 'Ledger double-posts',
        severity: 'error',
        triggeredBy: 'user:default/mallory',
      })
      .expect(400);
    expect(spoofed.body.error.message).toMatch(/unknown field\(s\) 'triggeredBy' not allowed/);
    expect(sent).toHaveLength(sentBefore);

    const created = await request(server)
      .post(`${base}/incidents`)
      .set('Authorization', auth)
      .send({ description: 'Ledger double-posts', severity: 'error' })
      .expect(201);
    expect(created.body).toMatchObject({
      deduplicated: false,
      incident: {
        status: 'triggered',
        severity: 'error',
        triggeredBy: KIM,
        assignedTo: ANNA,
        provider: 'embedded',
      },
    });
    expect(sent.at(-1).recipients.entityRef).toEqual([ANNA]);
    const id = created.body.incident.id;

    // double click: same incident
    const dup = await request(server)
      .post(`${base}/incidents`)
      .set('Authorization', auth)
      .send({ description: 'Ledger double-posts', severity: 'error' })
      .expect(200);
    expect(dup.body).toMatchObject({ deduplicated: true, incident: { id } });

    await request(server)
      .post(`${base}/incidents`)
      .set('Authorization', auth)
      .send({ description: 'Ledger slow' })
      .expect(201);
    const limited = await request(server)
      .post(`${base}/incidents`)
      .set('Authorization', auth)
      .send({ description: 'Ledger on fire' })
      .expect(429);
    expect(limited.body.error.message).toMatch(/at most 3 per 60 seconds/);
    expect(limited.headers['retry-after']).toBe('60');
    // another person is not limited
    await request(server)
      .post(`${base}/incidents`)
      .set('Authorization', mockCredentials.user.header(ANNA))
      .send({ description: 'Ledger on fire' })
      .expect(201);

    const freeze = await request(server)
      .get('/api/oncall/services/ledger/freeze')
      .set('Authorization', mockCredentials.service.header())
      .expect(200);
    expect(freeze.body).toMatchObject({ service: 'ledger', frozen: true });
    expect(freeze.body.incidents).toHaveLength(3);

    const acked = await request(server)
      .post(`/api/oncall/incidents/${id}/acknowledge`)
      .set('Authorization', mockCredentials.user.header(ANNA))
      .expect(200);
    expect(acked.body.incident).toMatchObject({
      status: 'acknowledged',
      acknowledgedBy: ANNA,
    });
    await request(server)
      .post(`/api/oncall/incidents/${id}/resolve`)
      .set('Authorization', mockCredentials.user.header(ANNA))
      .expect(200);
    await request(server)
      .post(`/api/oncall/incidents/${id}/resolve`)
      .set('Authorization', mockCredentials.user.header(ANNA))
      .expect(409);
    await request(server)
      .post('/api/oncall/incidents/not-a-uuid/resolve')
      .set('Authorization', auth)
      .expect(400);

    const card = await request(server)
      .get(`${base}/oncall`)
      .set('Authorization', auth)
      .expect(200);
    expect(card.body.openIncidents).toHaveLength(2);

    const calm = await request(server)
      .get('/api/oncall/services/loan-engine/freeze')
      .set('Authorization', mockCredentials.service.header())
      .expect(200);
    expect(calm.body).toMatchObject({ frozen: false, incidents: [] });
  });

  it('lets only owners/platform (the policy) and the people on call acknowledge or resolve; others 403, nothing changed', async () => {
    const OWNER = 'user:default/olle.owner';
    // the policy's answer: oncall.incident.update only for the owner (or platform); triggering is open
    const server = await start({
      decide: (permission, user) =>
        permission !== 'oncall.incident.update' || user === OWNER
          ? AuthorizeResult.ALLOW
          : AuthorizeResult.DENY,
    });
    const created = await request(server)
      .post('/api/oncall/entities/component/default/ledger/incidents')
      .set('Authorization', mockCredentials.user.header(KIM))
      .send({ description: 'Ledger stuck', severity: 'critical' })
      .expect(201);
    const id = created.body.incident.id;
    const status = async () =>
      (
        await request(server)
          .get('/api/oncall/entities/component/default/ledger/oncall')
          .set('Authorization', mockCredentials.user.header(KIM))
          .expect(200)
      ).body.openIncidents.find((i: any) => i.id === id)?.status;

    for (const action of ['acknowledge', 'resolve']) {
      // KIM triggered it but neither owns ledger nor is on call for it
      const refused = await request(server)
        .post(`/api/oncall/incidents/${id}/${action}`)
        .set('Authorization', mockCredentials.user.header(KIM))
        .expect(403);
      expect(refused.body.error.message).toMatch(
        new RegExp(`You may not ${action} incidents of component:default/ledger: only its owners \\(group:default/payments\\), the people on call for it and platform`),
      );
      expect(await status()).toBe('triggered');
    }
    // ANNA is on call for ledger (the payments rotation): allowed without the permission
    await request(server)
      .post(`/api/oncall/incidents/${id}/acknowledge`)
      .set('Authorization', mockCredentials.user.header(ANNA))
      .expect(200);
    expect(await status()).toBe('acknowledged');
    // the owner (policy allows) resolves
    const resolved = await request(server)
      .post(`/api/oncall/incidents/${id}/resolve`)
      .set('Authorization', mockCredentials.user.header(OWNER))
      .expect(200);
    expect(resolved.body.incident).toMatchObject({ status: 'resolved', resolvedBy: OWNER });
  });

  it('a second person reporting the same outage joins the open incident', async () => {
    const server = await start();
    const base = '/api/oncall/entities/component/default/ledger';
    const first = await request(server)
      .post(`${base}/incidents`)
      .set('Authorization', mockCredentials.user.header(KIM))
      .send({ description: 'Postings are duplicated' })
      .expect(201);
    const second = await request(server)
      .post(`${base}/incidents`)
      .set('Authorization', mockCredentials.user.header(ANNA))
      .send({ description: 'postings are  DUPLICATED' })
      .expect(200);
    expect(second.body).toMatchObject({
      deduplicated: true,
      joined: true,
      incident: { id: first.body.incident.id, reporters: [KIM, ANNA] },
    });
  });

  it('the freeze finds incidents by the shuttle vars.service name as well as the entity name', async () => {
    const server = await start();
    await request(server)
      .post('/api/oncall/entities/component/default/cards-web/incidents')
      .set('Authorization', mockCredentials.user.header(KIM))
      .send({ description: 'Card payments fail' })
      .expect(201);
    const byService = await request(server)
      .get('/api/oncall/services/cards/freeze')
      .set('Authorization', mockCredentials.service.header())
      .expect(200);
    expect(byService.body).toMatchObject({ service: 'cards', frozen: true });
    expect(byService.body.incidents[0].entityRef).toBe(
      'component:default/cards-web',
    );
    const byName = await request(server)
      .get('/api/oncall/services/cards-web/freeze')
      .set('Authorization', mockCredentials.service.header())
      .expect(200);
    expect(byName.body.frozen).toBe(true);
    const unknown = await request(server)
      .get('/api/oncall/services/nothing-here/freeze')
      .set('Authorization', mockCredentials.service.header())
      .expect(404);
    expect(unknown.body.error.message).toMatch(/vars\.service/);
  });

  it('lists a service\'s incidents since a time with their resolve time (DORA), 400 naming since', async () => {
    const server = await start();
    const before = new Date(Date.now() - 1000).toISOString();
    const triggered = await request(server)
      .post('/api/oncall/entities/component/default/cards-web/incidents')
      .set('Authorization', mockCredentials.user.header(KIM))
      .send({ description: 'Card payments time out' })
      .expect(201);
    const id = triggered.body.incident.id;
    await request(server)
      .post(`/api/oncall/incidents/${id}/resolve`)
      .set('Authorization', mockCredentials.user.header(ANNA))
      .expect(200);
    const list = await request(server)
      .get(`/api/oncall/services/cards/incidents?since=${encodeURIComponent(before)}`)
      .set('Authorization', mockCredentials.service.header())
      .expect(200);
    expect(list.body).toMatchObject({ service: 'cards', since: before, truncated: false });
    const mine = list.body.incidents.find((i: any) => i.id === id);
    expect(mine).toMatchObject({ status: 'resolved', entityRef: 'component:default/cards-web' });
    expect(Date.parse(mine.resolvedAt)).toBeGreaterThanOrEqual(Date.parse(mine.createdAt));
    // resolved before a later `since`, opened before it: not listed
    const later = await request(server)
      .get(`/api/oncall/services/cards/incidents?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)
      .set('Authorization', mockCredentials.service.header())
      .expect(200);
    expect(later.body.incidents.find((i: any) => i.id === id)).toBeUndefined();
    for (const since of ['', 'yesterday', '2026-13-45T00:00:00Z']) {
      const bad = await request(server)
        .get(`/api/oncall/services/cards/incidents?since=${encodeURIComponent(since)}`)
        .set('Authorization', mockCredentials.service.header())
        .expect(400);
      expect(bad.body.error.message).toMatch(/since/);
    }
    await request(server)
      .get(`/api/oncall/services/nothing-here/incidents?since=${encodeURIComponent(before)}`)
      .set('Authorization', mockCredentials.service.header())
      .expect(404);
  });

  it('refuses to trigger without the permission (403)', async () => {
    const server = await start({ permission: AuthorizeResult.DENY });
    const res = await request(server)
      .post('/api/oncall/entities/component/default/ledger/incidents')
      .set('Authorization', mockCredentials.user.header(KIM))
      .send({ description: 'down' })
      .expect(403);
    expect(res.body.error.message).toMatch(/oncall\.incident\.trigger/);
    const view = await request(server)
      .get('/api/oncall/entities/component/default/ledger/oncall')
      .set('Authorization', mockCredentials.user.header(KIM))
      .expect(200);
    expect(view.body.canTrigger).toBe(false);
  });

  it('uses PagerDuty for annotated services and never returns the routing key', async () => {
    const server = await start();
    const auth = mockCredentials.user.header(KIM);
    const view = await request(server)
      .get('/api/oncall/entities/component/default/payment-gateway/oncall')
      .set('Authorization', auth)
      .expect(200);
    expect(view.body).toMatchObject({
      configured: true,
      provider: 'pagerduty',
      now: [{ id: 'PANNA', name: 'Anna Jensen' }],
    });
    const trig = await request(server)
      .post('/api/oncall/entities/component/default/payment-gateway/incidents')
      .set('Authorization', auth)
      .send({ description: 'Card payments fail', severity: 'critical' })
      .expect(201);
    expect(trig.body.incident).toMatchObject({
      provider: 'pagerduty',
      status: 'triggered',
      triggeredBy: KIM,
    });
    const event = pd.calls.find(c => c.path === '/v2/enqueue')!;
    expect(event.body.payload).toMatchObject({
      source: 'component:default/payment-gateway',
      severity: 'critical',
      custom_details: { triggered_by: KIM },
    });
    expect(JSON.stringify([view.body, trig.body])).not.toContain(ROUTING_KEY);
    expect(JSON.stringify([view.body, trig.body])).not.toContain(REST_TOKEN);
  });
});
