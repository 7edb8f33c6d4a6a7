import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { createServiceFactory } from '@backstage/backend-plugin-api';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { notificationService } from '@backstage/plugin-notifications-node';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { LocalGitHost } from '@devplane/plugin-git-host-node';
// eslint-disable-next-line @backstage/no-mixed-plugin-imports -- the real on-call backend serves the incidents in this test
import oncallPlugin from '@devplane/plugin-oncall-backend';
import type { ArtifactUpload, DoraReport } from '@devplane/plugin-release-manager-common';
import request from 'supertest';
import { releaseManagerPlugin } from './plugin';
import { realCommit, sourceLocation } from './testing/sourceRepos';

jest.setTimeout(180_000);

const ALICE = 'user:default/alice';
const alice = () => mockCredentials.user.header(ALICE);
const ci = () => mockCredentials.service.header();
const api = (p: string) => `/api/release-manager${p}`;
const H = 3_600_000;

/**
 * GET /dora against the real release manager (git history → index) and the real on-call backend
 * (embedded incidents): every expected number is derived from what the test did.
 */
describe('GET /dora', () => {
  let server: any;
  let stop: () => Promise<void>;
  let dataDir: string;
  let sourceHost: LocalGitHost;
  let n = 0;

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-dora-'));
    sourceHost = new LocalGitHost({
      rootDir: path.join(dataDir, 'git'),
      baseUrl: 'http://localhost:7007/api/git-host/repos',
    });
    const backend = await startTestBackend({
      features: [
        releaseManagerPlugin,
        oncallPlugin,
        mockServices.rootConfig.factory({
          data: {
            backend: { baseUrl: 'http://localhost:7007' },
            devplane: { dataDir },
            oncall: {
              rotations: [{ name: 'payments', members: ['alice'], handoffTime: '09:00', lengthDays: 7, start: '2026-01-01' }],
            },
            releaseManager: {
              dora: { failureWindowHours: 24 },
              environments: [
                { name: 'dev' },
                { name: 'prod', production: true, guardrails: { uploaders: ['external:test-service'] } },
              ],
            },
          },
        }),
        catalogServiceMock.factory({
          entities: [
            {
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'User',
              metadata: { name: 'alice', namespace: 'default' },
              spec: { profile: { email: 'alice@bank.example' }, memberOf: ['payments'] },
              relations: [{ type: 'memberOf', targetRef: 'group:default/payments' }],
            },
            {
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'User',
              metadata: { name: 'bob', namespace: 'default' },
              spec: { memberOf: [] },
            },
            {
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'User',
              metadata: { name: 'pat', namespace: 'default' },
              spec: { memberOf: ['platform'] },
              relations: [{ type: 'memberOf', targetRef: 'group:default/platform' }],
            },
            ...['payments', 'lending', 'platform'].map(name => ({
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'Group',
              metadata: { name, namespace: 'default' },
              spec: { type: 'team', children: [] },
            })),
            {
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'Component',
              metadata: {
                name: 'payment-gateway',
                namespace: 'default',
                annotations: sourceLocation(sourceHost, 'payment-gateway'),
              },
              spec: { type: 'service', lifecycle: 'production', owner: 'payments' },
              relations: [{ type: 'ownedBy', targetRef: 'group:default/payments' }],
            },
          ],
        }),
        createServiceFactory({ service: notificationService, deps: {}, factory: () => ({ send: async () => {} }) }),
        createServiceFactory({ service: signalsServiceRef, deps: {}, factory: () => ({ publish: async () => {} }) }),
      ],
    });
    server = backend.server;
    stop = () => backend.stop();
  });

  afterAll(async () => {
    await stop?.();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  /** Uploads an artifact whose source commit is `ageMs` old, releases it to prod; returns the release time. */
  async function deploy(ageMs: number): Promise<{ id: string; committedAt: string; releasedAt: string }> {
    const sha = realCommit(sourceHost, 'payment-gateway', 'main', `change ${++n}`);
    const committedAt = new Date(Date.now() - ageMs).toISOString();
    const manifests: ArtifactUpload['manifests'] = {};
    for (const env of ['dev', 'prod']) {
      manifests[env] = {
        'deployment.yaml': `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: payment-gateway\n  labels:\n    build: "${sha.slice(0, 10)}"\n`,
      };
    }
    const id = `main-${sha.slice(0, 10)}-dddddddddd`;
    const up = await request(server)
      .post(api('/artifacts'))
      .set('Authorization', ci())
      .send({
        spec: {
          id,
          service: 'payment-gateway',
          namespace: 'payments',
          squad: 'payments',
          application: {
            branch: 'main',
            sha,
            authorName: 'Dev',
            authorEmail: 'dev@bank.example',
            message: `change ${n}`,
            name: 'payment-gateway',
            committedAt,
          },
        },
        manifests,
      });
    expect(up.status).toBe(201);
    const rel = await request(server)
      .post(api('/releases'))
      .set('Authorization', alice())
      .send({ service: 'payment-gateway', environment: 'prod', artifactId: id });
    expect(rel.status).toBe(200);
    return { id, committedAt, releasedAt: rel.body.release.releasedAt };
  }

  it('counts deployments, lead time, failures by rollback and incident, and restore times', async () => {
    const d1 = await deploy(2 * H);
    const d2 = await deploy(0.5 * H);
    const rb = await request(server)
      .post(api('/rollbacks'))
      .set('Authorization', alice())
      .send({ service: 'payment-gateway', environment: 'prod', reason: 'errors' });
    expect(rb.status).toBe(200);
    const rollbackAt = rb.body.release.releasedAt as string;
    const d3 = await deploy(1 * H);
    const inc = await request(server)
      .post('/api/oncall/entities/component/default/payment-gateway/incidents')
      .set('Authorization', alice())
      .send({ description: 'Card payments failing' });
    expect(inc.status).toBe(201);
    const resolved = await request(server)
      .post(`/api/oncall/incidents/${inc.body.incident.id}/resolve`)
      .set('Authorization', alice());
    expect(resolved.status).toBe(200);
    const incident = resolved.body.incident;

    const res = await request(server).get(api('/dora?service=payment-gateway&days=30')).set('Authorization', alice());
    expect(res.status).toBe(200);
    const report = res.body as DoraReport;
    expect(report.scope).toEqual({ service: 'payment-gateway' });
    expect(report.environments).toEqual(['prod']);
    expect(report.incidents).toEqual({ checked: true, warnings: [] });
    const m = report.metrics;
    // three prod deployments (the rollback is not one)
    expect(m.deploymentFrequency.deployments).toBe(3);
    expect(m.deploymentFrequency.perDay).toBe(Math.round((3 / 30) * 100) / 100);
    // lead times from the recorded source commit times: median is the middle one
    const leads = [d1, d2, d3]
      .map(d => (Date.parse(d.releasedAt) - Date.parse(d.committedAt)) / H)
      .sort((a, b) => a - b);
    expect(report.leadTimeFromUpload).toBe(0);
    expect(m.leadTime.count).toBe(3);
    expect(m.leadTime.medianHours).toBeCloseTo(leads[1], 2);
    expect(m.leadTime.p90Hours).toBeCloseTo(leads[2], 2);
    // d2 rolled back, d3 followed by an incident: 2 of 3
    expect(m.changeFailureRate).toEqual({ failed: 2, deployments: 3, rate: 0.6667, byRollback: 1, byIncident: 1 });
    // restores: the rollback (rollback − d2) and the incident (resolved − opened)
    const restores = [
      (Date.parse(rollbackAt) - Date.parse(d2.releasedAt)) / H,
      (Date.parse(incident.resolvedAt) - Date.parse(incident.createdAt)) / H,
    ].sort((a, b) => a - b);
    expect(m.timeToRestore).toMatchObject({ count: 2, byRollback: 1, byIncident: 1, openIncidents: 0 });
    expect(m.timeToRestore.medianHours).toBeCloseTo((restores[0] + restores[1]) / 2, 2);
    const today = m.daily[m.daily.length - 1];
    expect(today.deployments + m.daily[m.daily.length - 2].deployments).toBe(3);

    // the squad: the catalog says payments owns payment-gateway
    const squad = await request(server).get(api('/dora?squad=payments&days=90')).set('Authorization', alice());
    expect(squad.status).toBe(200);
    expect(squad.body.scope).toEqual({ squad: 'payments' });
    expect(squad.body.services).toEqual(['payment-gateway']);
    expect(squad.body.metrics.days).toBe(90);
    expect(squad.body.metrics.changeFailureRate.failed).toBe(2);

    // a squad owning nothing: zero deployments, no rate
    const none = await request(server).get(api('/dora?squad=lending')).set('Authorization', alice());
    expect(none.status).toBe(200);
    expect(none.body.services).toEqual([]);
    expect(none.body.metrics.deploymentFrequency.deployments).toBe(0);
    expect(none.body.metrics.changeFailureRate.rate).toBeUndefined();
  });

  it('since yesterday: my squads from the catalog, their releases and incidents; platform sees all; others 403', async () => {
    const since = new Date(Date.now() - 3 * H).toISOString();
    const mine = await request(server)
      .get(api(`/me/since?since=${encodeURIComponent(since)}`))
      .set('Authorization', alice());
    expect(mine.status).toBe(200);
    expect(mine.body.platform).toBe(false);
    expect(mine.body.squads).toEqual([{ name: 'payments', services: ['payment-gateway'] }]);
    // the first test's three prod releases and the rollback, newest first
    const intents = mine.body.releases.map((r: any) => r.intent);
    expect(intents).toEqual(['release', 'rollback', 'release', 'release']);
    expect(mine.body.incidents).toEqual([
      expect.objectContaining({ service: 'payment-gateway', title: 'Card payments failing', status: 'resolved' }),
    ]);
    // a squad that is not mine: 403, nothing read
    const other = await request(server).get(api('/me/since?squad=lending')).set('Authorization', alice());
    expect(other.status).toBe(403);
    expect(other.body.error.message).toMatch(/not one of your squads/);
    // no squad at all: an empty list the UI explains
    const bob = await request(server).get(api('/me/since')).set('Authorization', mockCredentials.user.header('user:default/bob'));
    expect(bob.status).toBe(200);
    expect(bob.body.squads).toEqual([]);
    expect(bob.body.releases).toEqual([]);
    // platform: every squad owning services, and may narrow to any
    const pat = await request(server)
      .get(api(`/me/since?since=${encodeURIComponent(since)}&squad=payments`))
      .set('Authorization', mockCredentials.user.header('user:default/pat'));
    expect(pat.status).toBe(200);
    expect(pat.body.platform).toBe(true);
    expect(pat.body.squads).toEqual([{ name: 'payments', services: ['payment-gateway'] }]);
    expect(pat.body.releases).toHaveLength(4);
    const bad = await request(server).get(api('/me/since?since=yesterday')).set('Authorization', alice());
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/since must be an ISO 8601 time/);
    // services cannot call it (it is about a person)
    await request(server).get(api('/me/since')).set('Authorization', ci()).expect(403);
  });

  it('400 naming the parameter for bad input; 401 without credentials', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/dora', /exactly one of .*service and squad/],
      ['/dora?service=a&squad=b', /exactly one/],
      ['/dora?service=payment-gateway&days=7', /days must be one of 30, 90/],
      ['/dora?service=payment-gateway&days=30&days=90', /days must be given once/],
      ['/dora?service=..%2Fetc', /service/],
      ['/dora?squad=a%20b', /squad/],
    ];
    for (const [url, message] of cases) {
      const res = await request(server).get(api(url)).set('Authorization', alice());
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(message);
    }
    // (without any header the test backend assumes a default user: send an unauthenticated one)
    await request(server)
      .get(api('/dora?service=payment-gateway'))
      .set('Authorization', mockCredentials.none.header())
      .expect(401);
  });
});
