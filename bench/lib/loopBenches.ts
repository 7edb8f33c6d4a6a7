/* eslint-disable no-console */
// Benches of the closed loop (issue 13): a git push to the local git host becoming an artifact and
// an auto-release visible through the API; the cluster agent reporting 1,000 changing workloads.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createServiceFactory } from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { notificationService } from '@backstage/plugin-notifications-node';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { KubeConfig } from '@kubernetes/client-node';
import gitHostPlugin from '@devplane/plugin-git-host-backend';
import { runGit } from '@devplane/plugin-git-host-node';
import releaseManagerPlugin from '@devplane/plugin-release-manager-backend';
import { ARTIFACT_ID_ANNOTATION, ENVIRONMENT_ANNOTATION, SERVICE_ANNOTATION } from '@devplane/plugin-release-manager-common';
import { ClusterAgent, FakeKubernetesApi } from '@devplane/release-manager-agent';
import { pct } from './extraBenches';

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/**
 * `git push` to main of a service repo → artifact created → auto-release to dev visible through
 * `GET /services/:service/status`. Baseline: the raw `git push` time (until it returns).
 */
export async function runPushBench(options: { pushes?: number } = {}) {
  const pushes = options.pushes ?? 20;
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'push-bench-'));
  const seed = path.join(dataDir, 'seed', 'payment-gateway');
  await fs.mkdir(path.join(seed, 'k8s'), { recursive: true });
  await fs.writeFile(path.join(seed, 'shuttle.yaml'), 'plan: false\nvars:\n  service: payment-gateway\n  squad: payments\n  k8s: {namespace: payments}\n');
  await fs.writeFile(
    path.join(seed, 'k8s', 'deployment.yaml'),
    'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: payment-gateway\n  namespace: payments\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        - name: app\n          image: registry.example.com/payment-gateway:IMAGE_TAG\n',
  );
  const backend = await startTestBackend({
    features: [
      gitHostPlugin,
      releaseManagerPlugin,
      mockServices.rootConfig.factory({
        data: {
          backend: { baseUrl: 'http://localhost:7007' },
          devplane: { dataDir },
          gitHost: { allowPush: true, seedFrom: path.join(dataDir, 'seed') },
        },
      }),
      catalogServiceMock.factory({ entities: [] }),
      createServiceFactory({ service: notificationService, deps: {}, factory: () => ({ send: async () => {} }) }),
      createServiceFactory({ service: signalsServiceRef, deps: {}, factory: () => ({ publish: async () => {} }) }),
      mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
    ],
  });
  const port = (backend.server.address() as AddressInfo).port;
  const api = `http://127.0.0.1:${port}/api/release-manager`;
  const auth = { authorization: mockCredentials.user.header('user:default/alice') };
  try {
    const policy = await fetch(`${api}/services/payment-gateway/policies/auto-releases`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ branch: 'main', environment: 'dev' }),
    });
    if (!policy.ok) throw new Error(`policy: HTTP ${policy.status} ${await policy.text()}`);
    const clone = path.join(dataDir, 'clone');
    await runGit(['clone', '--quiet', `http://127.0.0.1:${port}/api/git-host/repos/payment-gateway.git`, clone]);
    const pushMs: number[] = [];
    const endToEndMs: number[] = [];
    for (let i = 0; i < pushes; i++) {
      await fs.writeFile(path.join(clone, 'CHANGELOG.md'), `change ${i} ${crypto.randomUUID()}\n`);
      await runGit(['commit', '--quiet', '-am', `change ${i}`, '--allow-empty'], { cwd: clone }).catch(async () => {
        await runGit(['add', '.'], { cwd: clone });
        await runGit(['commit', '--quiet', '-m', `change ${i}`], { cwd: clone });
      });
      const sha = (await runGit(['rev-parse', 'HEAD'], { cwd: clone })).stdout.trim();
      const t0 = performance.now();
      await runGit(['push', '--quiet', 'origin', 'main'], { cwd: clone });
      pushMs.push(performance.now() - t0);
      for (;;) {
        const status = await fetch(`${api}/services/payment-gateway/status`, { headers: auth }).then(r => r.json());
        const dev = status.find((s: any) => s.environment === 'dev');
        if (dev?.artifact?.sha === sha) break;
        if (performance.now() - t0 > 30_000) throw new Error(`push ${i}: not released to dev after 30 s`);
        await sleep(20);
      }
      endToEndMs.push(performance.now() - t0);
    }
    return {
      pushes,
      pushP50: pct(pushMs, 50),
      p50: pct(endToEndMs, 50),
      p90: pct(endToEndMs, 90),
      max: Math.max(...endToEndMs),
    };
  } finally {
    await backend.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

/**
 * 1,000 annotated Deployments on the stand-in Kubernetes API, each going progressing → ready,
 * plus an identical repeat of every update: every distinct report is delivered once to a
 * counting webhook, repeats are not sent; heap and RSS reported.
 */
export async function runAgentBench(options: { workloads?: number } = {}) {
  const n = options.workloads ?? 1000;
  const received = new Map<string, number>();
  let posts = 0;
  const hook = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => {
      posts++;
      const body = Buffer.concat(chunks).toString();
      received.set(body, (received.get(body) ?? 0) + 1);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>(r => hook.listen(0, '127.0.0.1', r));
  const kube = new FakeKubernetesApi();
  const kubeUrl = await kube.start();
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'f', server: kubeUrl, skipTLSVerify: true }],
    users: [{ name: 'a', token: 't' }],
    contexts: [{ name: 'f', cluster: 'f', user: 'a' }],
    currentContext: 'f',
  });
  const agent = new ClusterAgent({
    kubeConfig: kc,
    releaseManagerUrl: `http://127.0.0.1:${(hook.address() as AddressInfo).port}`,
    token: 'bench',
    logger: { info: () => {}, warn: () => {}, error: () => {} },
  });
  const deployment = (i: number, ready: number) => ({
    metadata: {
      name: `svc-${i}`,
      namespace: 'bench',
      generation: 1,
      annotations: { [ARTIFACT_ID_ANNOTATION]: `main-${String(i).padStart(10, '0')}-bbbbbbbbbb`, [SERVICE_ANNOTATION]: `svc-${i}`, [ENVIRONMENT_ANNOTATION]: 'dev' },
    },
    spec: { replicas: 1 },
    status: { observedGeneration: 1, replicas: 1, readyReplicas: ready, updatedReplicas: 1 },
  });
  try {
    await agent.start();
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) kube.upsert('Deployment', deployment(i, 0));
    for (let i = 0; i < n; i++) kube.upsert('Deployment', deployment(i, 1));
    for (let i = 0; i < n; i++) kube.upsert('Deployment', deployment(i, 1)); // same state again
    const expected = 2 * n;
    while (posts < expected && performance.now() - t0 < 120_000) await sleep(50);
    await sleep(500);
    await agent.idle();
    const seconds = (performance.now() - t0) / 1000;
    global.gc?.();
    const mem = process.memoryUsage();
    return {
      workloads: n,
      events: 3 * n,
      expected,
      delivered: posts,
      distinct: received.size,
      duplicates: [...received.values()].filter(v => v > 1).length,
      skippedRepeats: agent.stats.duplicatesSkipped,
      seconds,
      heapDeltaMb: (mem.heapUsed - heapBefore) / 1048576,
      rssMb: mem.rss / 1048576,
    };
  } finally {
    await agent.stop();
    await kube.stop();
    await new Promise(r => hook.close(r));
  }
}
