import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  coreServices,
  createBackendPlugin,
  createServiceFactory,
  LoggerService,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { notificationService } from '@backstage/plugin-notifications-node';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { LocalGitHost, runGit } from '@devplane/plugin-git-host-node';
import type { ArtifactUpload } from '@devplane/plugin-release-manager-common';
import Router from 'express-promise-router';
import request from 'supertest';
import { parseTrailers } from './git/commitMessage';
import { releaseManagerPlugin } from './plugin';
import { realCommit, sourceLocation } from './testing/sourceRepos';

jest.setTimeout(120_000);

const ALICE = 'user:default/alice';
const alice = () => mockCredentials.user.header(ALICE);
const ci = () => mockCredentials.service.header();
const api = (p: string) => `/api/release-manager${p}`;

/** How the stubbed on-call backend answers `GET /services/:name/freeze`. */
type OnCallMode = 'frozen' | 'clear' | 'down' | 'error' | 'slow' | 'unknown';
const oncall = {
  mode: 'clear' as OnCallMode,
  calls: [] as Array<{ service: string; principal: string }>,
};

/** A stand-in for the on-call backend (pluginId `oncall`) speaking its freeze contract. */
const oncallStub = createBackendPlugin({
  pluginId: 'oncall',
  register(env) {
    env.registerInit({
      deps: { httpRouter: coreServices.httpRouter, httpAuth: coreServices.httpAuth },
      async init({ httpRouter, httpAuth }) {
        const router = Router();
        router.get('/services/:name/freeze', async (req, res) => {
          const credentials = await httpAuth.credentials(req, { allow: ['service'] });
          oncall.calls.push({ service: req.params.name, principal: credentials.principal.subject });
          if (oncall.mode === 'down') {
            req.socket.destroy();
            return;
          }
          if (oncall.mode === 'error') {
            res.status(503).json({ error: { name: 'Error', message: 'PagerDuty is down' } });
            return;
          }
          if (oncall.mode === 'unknown') {
            res.status(404).json({
              error: { name: 'NotFoundError', message: `No component named '${req.params.name}'` },
            });
            return;
          }
          if (oncall.mode === 'slow') await new Promise(r => setTimeout(r, 1500));
          const frozen = oncall.mode === 'frozen';
          const incidents = frozen
            ? [
                {
                  id: 'INC-42',
                  provider: 'embedded',
                  entityRef: `component:default/${req.params.name}`,
                  title: 'Card payments failing',
                  severity: 'critical',
                  status: 'triggered',
                  createdAt: new Date().toISOString(),
                  actionable: true,
                },
              ]
            : [];
          res.json({
            service: req.params.name,
            frozen,
            reason: frozen ? '1 open incident(s): Card payments failing' : undefined,
            incidents,
          });
        });
        httpRouter.use(router);
      },
    });
  },
});

let shaCounter = 0;
let sourceHost: LocalGitHost;
function upload(): ArtifactUpload {
  // a real commit on main of the service's source repo: production verifies the claimed branch
  const sha = realCommit(sourceHost, 'payment-gateway', 'main', `commit ${++shaCounter}`);
  const manifests: Record<string, Record<string, string>> = {};
  for (const env of ['dev', 'staging', 'prod']) {
    manifests[env] = {
      'deployment.yaml': `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: payment-gateway\n  labels:\n    build: "${sha.slice(0, 10)}"\n`,
    };
  }
  return {
    spec: {
      id: `main-${sha.slice(0, 10)}-eeeeeeeeee`,
      service: 'payment-gateway',
      namespace: 'payments',
      squad: 'payments',
      application: {
        branch: 'main',
        sha,
        authorName: 'Dev',
        authorEmail: 'dev@bank.example',
        message: `commit ${shaCounter}`,
        name: 'payment-gateway',
      },
    },
    manifests,
  };
}

describe('production freeze while the service has an open incident', () => {
  let server: any;
  let stop: () => Promise<void>;
  let host: LocalGitHost;
  let dataDir: string;
  const warnings: string[] = [];
  const audits: Array<{ eventId: string; severityLevel?: string; meta?: any }> = [];

  const logger: LoggerService = {
    error: () => {},
    warn: (message: string) => {
      warnings.push(message);
    },
    info: () => {},
    debug: () => {},
    child: () => logger,
  };

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-freeze-'));
    sourceHost = new LocalGitHost({
      rootDir: path.join(dataDir, 'git'),
      baseUrl: 'http://localhost:7007/api/git-host/repos',
    });
    const backend = await startTestBackend({
      features: [
        releaseManagerPlugin,
        oncallStub,
        mockServices.rootConfig.factory({
          data: {
            backend: { baseUrl: 'http://localhost:7007' },
            devplane: { dataDir },
            releaseManager: {
              incidentFreeze: { enabled: true, timeoutMs: 500 },
              environments: [
                { name: 'dev' },
                { name: 'staging' },
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
              spec: { profile: { email: 'alice@bank.example' } },
            },
            {
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'Component',
              metadata: {
                name: 'payment-gateway',
                namespace: 'default',
                annotations: sourceLocation(sourceHost, 'payment-gateway'),
              },
              spec: { type: 'service', lifecycle: 'production', owner: 'payments' },
            },
          ],
        }),
        createServiceFactory({ service: coreServices.logger, deps: {}, factory: () => logger }),
        createServiceFactory({
          service: coreServices.auditor,
          deps: {},
          factory: () => ({
            createEvent: async (options: any) => {
              audits.push(options);
              return { success: async () => {}, fail: async () => {} };
            },
          }),
        }),
        createServiceFactory({ service: notificationService, deps: {}, factory: () => ({ send: async () => {} }) }),
        createServiceFactory({ service: signalsServiceRef, deps: {}, factory: () => ({ publish: async () => {} }) }),
      ],
    });
    server = backend.server;
    stop = () => backend.stop();
    host = new LocalGitHost({
      rootDir: path.join(dataDir, 'git'),
      baseUrl: 'http://localhost:7007/api/git-host/repos',
    });
  });

  afterAll(async () => {
    await stop?.();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    oncall.calls.length = 0;
    warnings.length = 0;
    audits.length = 0;
  });

  const head = async () =>
    (await runGit(['rev-parse', 'main'], { cwd: host.repoPath('config') })).stdout.trim();
  const messageOf = async (sha: string) =>
    (await runGit(['log', '-1', '--format=%B', sha], { cwd: host.repoPath('config') })).stdout;

  async function newArtifact(): Promise<string> {
    const body = upload();
    const res = await request(server).post(api('/artifacts')).set('Authorization', ci()).send(body);
    expect(res.status).toBe(201);
    return body.spec.id;
  }

  const release = (artifactId: string, extra: object = {}) =>
    request(server)
      .post(api('/releases'))
      .set('Authorization', alice())
      .send({ service: 'payment-gateway', environment: 'prod', artifactId, ...extra });

  it('refuses a production release while an incident is open, writing nothing to git', async () => {
    oncall.mode = 'clear';
    const first = await newArtifact();
    expect((await release(first)).status).toBe(200);
    const before = await head();

    oncall.mode = 'frozen';
    oncall.calls.length = 0;
    const second = await newArtifact();
    const res = await release(second);
    expect(res.status).toBe(409);
    expect(res.body.error.name).toBe('ProductionFrozenError');
    expect(res.body.error.message).toBe(
      'prod is frozen for payment-gateway: incident INC-42 ("Card payments failing") is open; pass overrideFreeze with a reason to release anyway',
    );
    expect(await head()).toBe(before);
    // asked with the release manager's own service credentials
    expect(oncall.calls).toEqual([
      { service: 'payment-gateway', principal: 'plugin:release-manager' },
    ]);

    // promotions into prod are frozen as well; a rollback is the fix and stays possible
    await request(server).post(api('/releases')).set('Authorization', alice())
      .send({ service: 'payment-gateway', environment: 'staging', artifactId: second })
      .expect(200); // non-production environments are not frozen
    const promo = await request(server)
      .post(api('/promotions'))
      .set('Authorization', alice())
      .send({ service: 'payment-gateway', fromEnvironment: 'staging', toEnvironment: 'prod' });
    expect(promo.status).toBe(409);
    expect(promo.body.error.message).toMatch(/^prod is frozen for payment-gateway: incident INC-42/);
    const rb = await request(server)
      .post(api('/rollbacks'))
      .set('Authorization', alice())
      .send({ service: 'payment-gateway', environment: 'prod', artifactId: first });
    expect(rb.status).toBe(200);
    expect(rb.body.changed).toBe(false); // prod still runs `first`
    expect(await head()).not.toBe(before); // only the staging release was written
    const prodLog = await request(server)
      .get(api('/services/payment-gateway/releases?environment=prod'))
      .set('Authorization', alice());
    expect(prodLog.body.items.map((r: any) => r.artifactId)).toEqual([first]);
  });

  it('releases with an explicit override, recorded as a commit trailer and an audit event', async () => {
    oncall.mode = 'frozen';
    const id = await newArtifact();
    const res = await release(id, {
      reason: 'hotfix for the incident',
      overrideFreeze: { reason: 'this is the fix for INC-42' },
    });
    expect(res.status).toBe(200);
    expect(res.body.changed).toBe(true);
    expect(res.body.message).toContain('production freeze overridden: this is the fix for INC-42');
    const { trailers, body } = parseTrailers(await messageOf(res.body.release.id));
    expect(body).toBe('hotfix for the incident');
    expect(trailers['Freeze-override']).toBe('this is the fix for INC-42');
    expect(trailers['Freeze-incidents']).toBe('INC-42');
    const event = audits.find(a => a.eventId === 'freeze-override');
    expect(event).toMatchObject({
      severityLevel: 'high',
      meta: {
        service: 'payment-gateway',
        environment: 'prod',
        artifactId: id,
        reason: 'this is the fix for INC-42',
        incidents: ['INC-42'],
        actor: ALICE,
      },
    });
  });

  it('rolls back with an override (the remedy during an incident)', async () => {
    oncall.mode = 'frozen';
    const res = await request(server)
      .post(api('/rollbacks'))
      .set('Authorization', alice())
      .send({
        service: 'payment-gateway',
        environment: 'prod',
        reason: 'rollback from incident',
        overrideFreeze: { reason: 'rollback during incident' },
      });
    expect(res.status).toBe(200);
    const { trailers } = parseTrailers(await messageOf(res.body.release.id));
    expect(trailers['Release-intent']).toBe('rollback');
    expect(trailers['Freeze-override']).toBe('rollback during incident');
  });

  it('rolls back without an override during an incident (the fix), recorded as such', async () => {
    oncall.mode = 'frozen';
    const id = await newArtifact();
    expect((await release(id, { overrideFreeze: { reason: 'to have something to roll back' } })).status).toBe(200);
    const res = await request(server)
      .post(api('/rollbacks'))
      .set('Authorization', alice())
      .send({ service: 'payment-gateway', environment: 'prod' });
    expect(res.status).toBe(200);
    expect(res.body.changed).toBe(true);
    const { trailers } = parseTrailers(await messageOf(res.body.release.id));
    expect(trailers['Release-intent']).toBe('rollback');
    expect(trailers['Freeze-override']).toBe('rollback during an incident freeze (INC-42)');
    expect(trailers['Freeze-incidents']).toBe('INC-42');
  });

  it('rejects an override without a reason and unknown fields in it', async () => {
    oncall.mode = 'frozen';
    const id = await newArtifact();
    const before = await head();
    const blank = await release(id, { overrideFreeze: { reason: '  ' } });
    expect(blank.status).toBe(400);
    expect(blank.body.error.message).toContain('overrideFreeze.reason');
    const extra = await release(id, { overrideFreeze: { reason: 'x', by: 'someone-else' } });
    expect(extra.status).toBe(400);
    expect(extra.body.error.message).toContain("unknown field(s) 'by'");
    expect(await head()).toBe(before);
  });

  it('releases normally when no incident is open, with no override trailer', async () => {
    oncall.mode = 'clear';
    const id = await newArtifact();
    const res = await release(id, { overrideFreeze: { reason: 'not needed' } });
    expect(res.status).toBe(200);
    expect(res.body.message).toBe(`Released ${id} to prod`);
    const { trailers } = parseTrailers(await messageOf(res.body.release.id));
    expect(trailers['Freeze-override']).toBeUndefined();
    expect(audits.some(a => a.eventId === 'freeze-override')).toBe(false);
    expect(oncall.calls).toHaveLength(1);
  });

  it.each([
    ['the connection drops', 'down' as OnCallMode],
    ['it answers 503', 'error' as OnCallMode],
    ['it does not answer in time', 'slow' as OnCallMode],
  ])('releases with a warning when the on-call backend is unreachable (%s)', async (_what, mode) => {
    oncall.mode = mode;
    const id = await newArtifact();
    const res = await release(id);
    expect(res.status).toBe(200);
    expect(res.body.changed).toBe(true);
    expect(res.body.message).toMatch(
      /on-call backend unreachable \(.+\); incident freeze of payment-gateway not checked/,
    );
    expect(warnings.some(w => w.includes('incident freeze of payment-gateway not checked'))).toBe(true);
    const { trailers } = parseTrailers(await messageOf(res.body.release.id));
    expect(trailers['Artifact-ID']).toBe(id);
  });

  it('releases with a warning the user sees when on-call does not know the service (404)', async () => {
    oncall.mode = 'unknown';
    const id = await newArtifact();
    const res = await release(id);
    expect(res.status).toBe(200);
    expect(res.body.message).toMatch(
      /on-call knows no service 'payment-gateway'.*incident freeze of payment-gateway not checked/,
    );
    expect(warnings.some(w => w.includes("on-call knows no service 'payment-gateway'"))).toBe(true);
  });

  it('does not ask on-call for non-production environments', async () => {
    oncall.mode = 'frozen';
    const id = await newArtifact();
    await request(server)
      .post(api('/releases'))
      .set('Authorization', alice())
      .send({ service: 'payment-gateway', environment: 'dev', artifactId: id })
      .expect(200);
    expect(oncall.calls).toHaveLength(0);
  });
});
