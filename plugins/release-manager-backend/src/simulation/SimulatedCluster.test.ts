import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { LocalGitHost } from '@devplane/plugin-git-host-node';
import { LocalDirectoryBlobStore } from '../blobs/BlobStore';
import { DEFAULT_ENVIRONMENTS } from '../config';
import { ReleaseManagerStore } from '../database/ReleaseManagerStore';
import { GitOpsWriter } from '../git/GitOpsWriter';
import { OpenPgpCommitSigner } from '../git/Signer';
import { Notifier } from '../service/Notifier';
import { ReleaseManager } from '../service/ReleaseManager';
import { desiredReplicas, SimulatedCluster, simulatedFailure } from './SimulatedCluster';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const actor = { ref: 'user:default/alice', email: 'alice@bank.example' };

function upload(id: string, sha: string) {
  const deployment = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ledger\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        - name: ledger\n          image: registry.local/ledger:${sha}\n`;
  return {
    spec: {
      id,
      service: 'ledger',
      namespace: 'payments',
      squad: 'payments',
      application: { branch: 'main', sha, authorName: 'A', authorEmail: 'a@x', message: 'm', name: 'ledger' },
    },
    manifests: { dev: { 'deployment.yaml': deployment } },
  };
}

describe('simulated cluster', () => {
  let root: string;
  afterEach(async () => {
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it('counts replicas and decides failures deterministically', () => {
    expect(desiredReplicas({ 'a.yaml': 'kind: Deployment\nspec: {replicas: 3}\n---\nkind: StatefulSet\nspec: {}\n', 'b.yaml': 'kind: Service\n' })).toBe(4);
    expect(desiredReplicas({ 'a.yaml': 'kind: ConfigMap\n' })).toBe(1);
    expect(simulatedFailure('x', 'dev', 0)).toBe(false);
    expect(simulatedFailure('x', 'dev', 1)).toBe(true);
    expect(simulatedFailure('x', 'dev', 0.5)).toBe(simulatedFailure('x', 'dev', 0.5));
  });

  it('rolls out what the config repo says, step by step, every report marked simulated, nothing twice, nothing replayed after a restart', async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-sim-'));
    const host = new LocalGitHost({ rootDir: path.join(root, 'git'), baseUrl: 'http://localhost:7007/api/git-host/repos' });
    await host.createRepo('config', { files: { 'README.md': 'config\n' } });
    const knex = await databases.init('SQLITE_3');
    const store = await ReleaseManagerStore.create({ database: mockServices.database({ knex }) });
    const logger = mockServices.logger.mock();
    const writer = await GitOpsWriter.create({ workDir: path.join(root, 'work'), remoteUrl: host.repoPath('config') });
    const manager = new ReleaseManager({
      store,
      blobs: new LocalDirectoryBlobStore(path.join(root, 'blobs')),
      writer,
      environments: DEFAULT_ENVIRONMENTS,
      notifier: new Notifier({ logger }),
      logger,
      configRepoKey: 'local:config',
      signer: await OpenPgpCommitSigner.fromGnupgHome({ gnupgHome: path.join(root, 'gnupg'), name: 'RM', email: 'rm@x' }),
    });
    const reports: any[] = [];
    const real = manager.reportStatus.bind(manager);
    jest.spyOn(manager, 'reportStatus').mockImplementation(async r => {
      reports.push(r);
      return real(r);
    });
    const ok = 'main-bbbbbbbbbb-bbbbbbbbbb';
    const crash = 'main-cccccccccc-bbbbbbbbbb';
    // pick artifact ids so that one succeeds and one crashes at a 50% failure rate
    expect(simulatedFailure(ok, 'dev', 0.5)).toBe(false);
    expect(simulatedFailure(crash, 'dev', 0.5)).toBe(true);

    await manager.uploadArtifact(upload(ok, 'b'.repeat(40)), actor);
    await manager.release({ service: 'ledger', environment: 'dev', artifactId: ok }, actor);
    const cluster = new SimulatedCluster(manager, logger, { stepMs: 100, failureRate: 0.5 });
    const t0 = Date.now();
    for (const t of [0, 100, 150, 200, 300, 400, 500]) await cluster.tick(t0 + t);
    expect(reports.map(r => `${r.state} ${r.ready}/${r.desired}`)).toEqual([
      'progressing 0/2',
      'progressing 1/2',
      'succeeded 2/2',
    ]);
    expect(reports.every(r => r.simulated === true)).toBe(true);
    const status = await manager.status('ledger');
    expect(status[0].release?.rollout).toMatchObject({ state: 'succeeded', ready: 2, desired: 2, simulated: true });

    // a restart (new simulator) replays nothing that already finished
    const again = new SimulatedCluster(manager, logger, { stepMs: 100, failureRate: 0.5 });
    for (const t of [600, 700, 800, 900]) await again.tick(t0 + t);
    expect(reports).toHaveLength(3);

    // the next release crashes, with the reason and log lines, still labelled simulated
    await manager.uploadArtifact(upload(crash, 'c'.repeat(40)), actor);
    await manager.release({ service: 'ledger', environment: 'dev', artifactId: crash }, actor);
    for (const t of [1000, 1100, 1200, 1300, 1400]) await again.tick(t0 + t);
    const last = reports[reports.length - 1];
    expect(last).toMatchObject({ artifactId: crash, state: 'failed', reason: 'CrashLoopBackOff', simulated: true });
    const failed = (await manager.status('ledger'))[0].release?.rollout;
    expect(failed?.logLines?.some(l => l.includes('[simulated]'))).toBe(true);
  });
});
