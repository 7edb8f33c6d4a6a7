import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mockCredentials, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { KubeConfig } from '@kubernetes/client-node';
import { ClusterAgent, FakeKubernetesApi } from '@devplane/release-manager-agent';
import { ARTIFACT_ID_ANNOTATION, ENVIRONMENT_ANNOTATION, SERVICE_ANNOTATION } from '@devplane/plugin-release-manager-common';
import request from 'supertest';
import { releaseManagerTestFeatures } from './testing';

jest.setTimeout(120_000);

async function eventually<T>(check: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() - start > timeoutMs) throw e;
      await new Promise(r => setTimeout(r, 100));
    }
  }
}

describe('cluster agent → release manager (stand-in Kubernetes API)', () => {
  it('reports a rollout, then a crash-looping pod with its last 30 log lines; the env status shows them and the squad is notified', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-agent-'));
    const send = jest.fn(async () => {});
    const backend = await startTestBackend({
      features: releaseManagerTestFeatures({
        dataDir,
        // the agent's own credential: only this subject may post rollout status
        releaseManager: { statusWebhook: { principals: ['external:cluster-agent-dev'] } },
        catalog: catalogServiceMock.factory({ entities: [] }),
        send,
      }),
    });
    const kube = new FakeKubernetesApi();
    const kubeUrl = await kube.start();
    const api = (p: string) => `/api/release-manager${p}`;
    let agent: ClusterAgent | undefined;
    try {
      const artifactId = 'main-abcdef0123-bbbbbbbbbb';
      const up = await request(backend.server)
        .post(api('/artifacts'))
        .set('Authorization', mockCredentials.service.header())
        .send({
          spec: {
            id: artifactId,
            service: 'ledger',
            namespace: 'payments',
            squad: 'payments',
            application: { branch: 'main', sha: 'abcdef0123'.padEnd(40, '0'), authorName: 'A', authorEmail: 'a@x', message: 'm', name: 'ledger' },
          },
          manifests: { dev: { 'deployment.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ledger\nspec:\n  replicas: 2\n' } },
        });
      expect(up.status).toBe(201);
      // the stored manifests carry the annotation the agent watches
      const rel = await request(backend.server)
        .post(api('/releases'))
        .set('Authorization', mockCredentials.user.header('user:default/alice'))
        .send({ service: 'ledger', environment: 'dev', artifactId });
      expect(rel.status).toBe(200);

      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'fake', server: kubeUrl, skipTLSVerify: true }],
        users: [{ name: 'agent', token: 'kube-token' }],
        contexts: [{ name: 'fake', cluster: 'fake', user: 'agent' }],
        currentContext: 'fake',
      });
      agent = new ClusterAgent({
        kubeConfig: kc,
        releaseManagerUrl: `http://localhost:${backend.server.port()}`,
        token: mockCredentials.service.token({ onBehalfOf: mockCredentials.service('external:cluster-agent-dev'), targetPluginId: 'release-manager' }),
        reconnectMs: 100,
        logger: { info: () => {}, warn: () => {}, error: () => {} },
      });
      const annotations = { [ARTIFACT_ID_ANNOTATION]: artifactId, [SERVICE_ANNOTATION]: 'ledger', [ENVIRONMENT_ANNOTATION]: 'dev' };
      kube.upsert('Deployment', {
        metadata: { name: 'ledger', namespace: 'payments', generation: 1, annotations },
        spec: { replicas: 2 },
        status: { observedGeneration: 1, replicas: 2, readyReplicas: 1, updatedReplicas: 2 },
      });
      kube.upsert('Deployment', {
        metadata: { name: 'unrelated', namespace: 'payments', generation: 1 },
        spec: { replicas: 1 },
        status: { observedGeneration: 1, readyReplicas: 0 },
      });
      await agent.start();

      const statusOf = async () => {
        const res = await request(backend.server).get(api('/services/ledger/status')).set('Authorization', mockCredentials.user.header('user:default/alice'));
        return res.body.find((s: any) => s.environment === 'dev').release.rollout;
      };
      await eventually(async () => expect(await statusOf()).toMatchObject({ state: 'progressing', ready: 1, desired: 2 }));

      // the watch stream is cut (API server restart): the agent resumes from its resourceVersion
      kube.dropWatches();
      await eventually(async () => expect(kube.openWatches).toBe(5));
      kube.upsert('Deployment', {
        metadata: { name: 'ledger', namespace: 'payments', generation: 1, annotations },
        spec: { replicas: 2 },
        status: { observedGeneration: 1, replicas: 2, readyReplicas: 2, updatedReplicas: 2 },
      });
      await eventually(async () => expect(await statusOf()).toMatchObject({ state: 'succeeded', ready: 2, desired: 2 }));
      const resumed = kube.requests.filter(r => r.startsWith('GET /apis/apps/v1/deployments?') && r.includes('watch=true'));
      expect(resumed.length).toBeGreaterThanOrEqual(2);
      expect(resumed[resumed.length - 1]).toMatch(/resourceVersion=\d+/);

      // a pod of that release crash-loops: 40 log lines, the last 30 are reported
      const lines = Array.from({ length: 40 }, (_, i) => `line ${i + 1}${i === 39 ? ' panic: missing DATABASE_URL' : ''}`);
      kube.setLog('payments', 'ledger-1', 'ledger', lines.join('\n'));
      kube.upsert('Pod', {
        metadata: { name: 'ledger-1', namespace: 'payments', annotations },
        status: {
          containerStatuses: [
            { name: 'ledger', restartCount: 4, ready: false, image: 'x', imageID: '', state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } } },
          ],
        },
      });
      const crashed = await eventually(async () => {
        const r = await statusOf();
        expect(r.state).toBe('failed');
        return r;
      });
      expect(crashed.reason).toBe('CrashLoopBackOff');
      expect(crashed.simulated).toBeUndefined();
      expect(crashed.logLines).toHaveLength(30);
      expect(crashed.logLines[0]).toBe('line 11');
      expect(crashed.logLines[29]).toBe('line 40 panic: missing DATABASE_URL');
      await eventually(async () =>
        expect(send).toHaveBeenCalledWith(
          expect.objectContaining({
            recipients: { type: 'entity', entityRef: 'group:default/payments' },
            payload: expect.objectContaining({
              title: expect.stringMatching(/ledger: .* in dev is failed .*CrashLoopBackOff/),
              description: expect.stringContaining('panic: missing DATABASE_URL'),
              severity: 'critical',
            }),
          }),
        ),
      );
      // an identical observation is not reported twice
      const delivered = agent.stats.delivered;
      kube.upsert('Pod', {
        metadata: { name: 'ledger-1', namespace: 'payments', annotations },
        status: { containerStatuses: [{ name: 'ledger', restartCount: 4, ready: false, image: 'x', imageID: '', state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } } }] },
      });
      await new Promise(r => setTimeout(r, 500));
      await agent.idle();
      expect(agent.stats.delivered).toBe(delivered);
      expect(agent.stats.duplicatesSkipped).toBeGreaterThanOrEqual(1);
    } finally {
      await agent?.stop();
      await kube.stop();
      await backend.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});
