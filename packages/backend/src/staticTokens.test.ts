/*
 * Static external-access tokens against Backstage's real auth service (not the mock, whose service
 * principals are `external:<name>`): CI and the cluster agent call the release manager with the
 * tokens of app-config.production.yaml, and the principals the guardrails and the status webhook
 * see are the bare subjects `ci` and `cluster-agent`. This is the production decision of who may
 * upload artifacts with prod manifests (the service's owners, `ci`, platform) and who may report
 * rollout status (`cluster-agent`), read from app-config.production.yaml itself.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { authServiceFactory } from '@backstage/backend-defaults/auth';
import { httpAuthServiceFactory } from '@backstage/backend-defaults/httpAuth';
import { rootConfigServiceFactory } from '@backstage/backend-defaults/rootConfig';
import { coreServices, createBackendPlugin } from '@backstage/backend-plugin-api';
import { startTestBackend } from '@backstage/backend-test-utils';
import { Config, ConfigReader } from '@backstage/config';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { readReleaseManagerConfig } from '@devplane/plugin-release-manager-backend';
import { releaseManagerTestFeatures } from '@devplane/plugin-release-manager-backend/testing';
import type { JsonObject } from '@backstage/types';
import request from 'supertest';

jest.setTimeout(120_000);

const CI_TOKEN = 'ci-token-ci-token-ci-token-0001';
const AGENT_TOKEN = 'agent-token-agent-token-agent-01';
const ROOT = path.resolve(__dirname, '../../..');

/**
 * `releaseManager` and `backend.auth` as the production bundle reads them: Backstage's own root
 * config service over `--config app-config.yaml --config app-config.production.yaml`.
 */
async function productionConfig(): Promise<{ releaseManager: JsonObject; externalAccess: JsonObject[] }> {
  Object.assign(process.env, { CI_TOKEN, CLUSTER_AGENT_TOKEN: AGENT_TOKEN });
  let config: Config | undefined;
  const capture = createBackendPlugin({
    pluginId: 'config-capture',
    register(env) {
      env.registerInit({
        deps: { rootConfig: coreServices.rootConfig },
        async init({ rootConfig }) {
          config = rootConfig;
        },
      });
    },
  });
  const argv = ['node', 'backend', '--config', path.join(ROOT, 'app-config.yaml'), '--config', path.join(ROOT, 'app-config.production.yaml')];
  const backend = await startTestBackend({ features: [rootConfigServiceFactory({ argv, watch: false }), capture] });
  try {
    return {
      releaseManager: {
        environments: config!.get('releaseManager.environments') as JsonObject[],
        statusWebhook: config!.get('releaseManager.statusWebhook') as JsonObject,
      },
      externalAccess: config!.get('backend.auth.externalAccess') as JsonObject[],
    };
  } finally {
    await backend.stop();
  }
}

function artifact(n: number) {
  const sha = `${n.toString(16).padStart(10, '0')}${'d'.repeat(30)}`;
  const deployment = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ledger\n';
  return {
    spec: {
      id: `main-${sha.slice(0, 10)}-bbbbbbbbbb`,
      service: 'ledger',
      namespace: 'payments',
      squad: 'payments',
      application: { branch: 'main', sha, authorName: 'Dev', authorEmail: 'dev@bank.example', message: `change ${n}`, name: 'ledger' },
    },
    manifests: { dev: { 'deployment.yaml': deployment }, prod: { 'deployment.yaml': deployment } },
  };
}

describe('static tokens of app-config.production.yaml through the real auth service', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'devplane-static-tokens-'));
  });
  afterEach(async () => {
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  function start(releaseManager: JsonObject, externalAccess: JsonObject[]) {
    // The branch guardrail is verified elsewhere (the artifact claims a made-up commit).
    const environments = (releaseManager.environments as JsonObject[]).map(e =>
      e.guardrails ? { ...e, guardrails: { ...(e.guardrails as JsonObject), verifyBranch: false } } : e,
    );
    return startTestBackend({
      features: releaseManagerTestFeatures({
        dataDir,
        releaseManager: { ...releaseManager, environments },
        config: { backend: { baseUrl: 'http://localhost:7007', auth: { externalAccess } } },
        catalog: catalogServiceMock.factory({
          entities: [
            {
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'Component',
              metadata: { name: 'ledger', namespace: 'default' },
              spec: { type: 'service', lifecycle: 'production', owner: 'group:default/payments' },
              relations: [{ type: 'ownedBy', targetRef: 'group:default/payments' }],
            },
          ],
        }),
        // Backstage's own auth and HTTP auth services: static tokens verified as in production
        features: [authServiceFactory, httpAuthServiceFactory],
      }),
    });
  }

  it('CI uploads prod manifests as `ci`; the cluster agent reports status as `cluster-agent`; neither can do the other', async () => {
    const { releaseManager, externalAccess } = await productionConfig();
    const prod = (releaseManager.environments as JsonObject[]).find(e => e.name === 'prod') as any;
    expect(prod.guardrails.uploaders).toContain('ci');
    expect((releaseManager.statusWebhook as any).principals).toEqual(['cluster-agent']);

    const backend = await start(releaseManager, externalAccess);
    try {
      const api = (p: string) => `/api/release-manager${p}`;
      const asCi = await request(backend.server)
        .post(api('/artifacts'))
        .set('Authorization', `Bearer ${CI_TOKEN}`)
        .send(artifact(1));
      expect(asCi.status).toBe(201);
      expect(asCi.body.artifact.createdBy).toBe('ci');

      const asAgent = await request(backend.server)
        .post(api('/artifacts'))
        .set('Authorization', `Bearer ${AGENT_TOKEN}`)
        .send(artifact(2));
      expect(asAgent.status).toBe(403);
      expect(asAgent.body.error.message).toMatch(/you may not upload artifacts with manifests for prod: only the service's owners and ci, group:default\/platform may/);

      const wrong = await request(backend.server)
        .post(api('/artifacts'))
        .set('Authorization', 'Bearer not-a-configured-token-at-all-000')
        .send(artifact(3));
      expect(wrong.status).toBe(401);

      const listed = await request(backend.server).get(api('/services/ledger/artifacts')).set('Authorization', `Bearer ${CI_TOKEN}`);
      expect(listed.status).toBe(200);
      expect(JSON.stringify(listed.body)).not.toContain(artifact(2).spec.id);

      const status = {
        service: 'ledger',
        environment: 'dev',
        artifactId: asCi.body.artifact.id,
        state: 'progressing',
        ready: 0,
        desired: 1,
      };
      // the agent passes the principal and permission checks and reaches the release index (the
      // artifact was never released: a service principal may upload, releasing is a person's act)
      const byAgent = await request(backend.server).post(api('/status')).set('Authorization', `Bearer ${AGENT_TOKEN}`).send(status);
      expect(byAgent.status).toBe(404);
      expect(byAgent.body.error.message).toBe(`No release of ${asCi.body.artifact.id} to dev for ledger`);
      const byCi = await request(backend.server).post(api('/status')).set('Authorization', `Bearer ${CI_TOKEN}`).send(status);
      expect(byCi.status).toBe(403);
      expect(byCi.body.error.message).toMatch(/^ci may not report rollout status/);
    } finally {
      await backend.stop();
    }
  });

  it("refuses to start when a list names 'external:<subject>' of a configured static token", async () => {
    const { externalAccess } = await productionConfig();
    const config = new ConfigReader({
      backend: { auth: { externalAccess } },
      releaseManager: {
        environments: [{ name: 'dev' }, { name: 'prod', production: true, guardrails: { uploaders: ['external:ci'] } }],
      },
    });
    expect(() => readReleaseManagerConfig(config)).toThrow(
      "releaseManager.environments[1].guardrails.uploaders: 'external:ci' never matches: the static token with subject 'ci' (backend.auth.externalAccess) signs in as the principal 'ci'; write 'ci'",
    );
    const agent = new ConfigReader({
      backend: { auth: { externalAccess } },
      releaseManager: { statusWebhook: { principals: ['external:cluster-agent'] } },
    });
    expect(() => readReleaseManagerConfig(agent)).toThrow(/releaseManager.statusWebhook.principals: 'external:cluster-agent' never matches/);
  });
});
