import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { LocalGitHost, runGit } from '@devplane/plugin-git-host-node';
import { LocalDirectoryBlobStore } from '../blobs/BlobStore';
import { DEFAULT_ENVIRONMENTS } from '../config';
import { ReleaseManagerStore } from '../database/ReleaseManagerStore';
import { GitOpsWriter } from '../git/GitOpsWriter';
import { OpenPgpCommitSigner } from '../git/Signer';
import { Notifier } from '../service/Notifier';
import { ReleaseManager } from '../service/ReleaseManager';
import { renderDemoManifests, seedDemo } from './demoSeed';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { CatalogBranchVerifier } from '../service/branchVerifier';
import { sourceLocation } from '../testing/sourceRepos';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

describe('demo seed', () => {
  let root: string;
  afterEach(async () => {
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it('renders image tags', () => {
    expect(
      renderDemoManifests(
        { 'd.yaml': 'containers:\n  - name: a\n    image: ghcr.io:443/org/app:latest\n  - image: "nginx"\n' },
        'abc',
      )['d.yaml'],
    ).toBe('containers:\n  - name: a\n    image: ghcr.io:443/org/app:abc\n  - image: "nginx:abc"\n');
  });

  it('seeds artifacts, policies and releases for demo repos, once', async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-seed-'));
    const host = new LocalGitHost({ rootDir: path.join(root, 'git'), baseUrl: 'http://localhost:7007/api/git-host/repos' });
    await host.createRepo('config', { files: { 'README.md': 'config\n' } });
    await host.createRepo('ledger', {
      files: {
        'shuttle.yaml': 'plan: false\nvars:\n  service: ledger\n  squad: payments\n',
        'k8s/deployment.yaml': 'apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: ledger\n          image: registry.local/ledger:latest\n',
        'k8s/service.yaml': 'apiVersion: v1\nkind: Service\n',
      },
      author: { name: 'Ada', email: 'ada@bank.example' },
    });
    await host.createRepo('no-k8s', { files: { 'shuttle.yaml': 'vars:\n  squad: x\n' } });
    await host.createRepo('no-shuttle', { files: { 'k8s/a.yaml': 'a: 1\n' } });

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
      // production verifies claimed branches in the source repo named by the catalog
      branchVerifier: new CatalogBranchVerifier({
        catalog: catalogServiceMock({
          entities: [
            {
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'Component',
              metadata: { name: 'ledger', namespace: 'default', annotations: sourceLocation(host, 'ledger') },
              spec: { type: 'service', lifecycle: 'production', owner: 'payments' },
            },
          ],
        }),
        auth: mockServices.auth(),
        logger,
        gitHost: host,
      }),
      signer: await OpenPgpCommitSigner.fromGnupgHome({ gnupgHome: path.join(root, 'gnupg'), name: 'RM', email: 'rm@x' }),
    });

    const seededNow = await seedDemo({ manager, gitHost: host, logger });
    expect((logger.warn as jest.Mock).mock.calls).toEqual([]);
    expect(seededNow).toEqual(['ledger']);
    const artifacts = await manager.listArtifacts('ledger', {});
    expect(artifacts.total).toBe(3);
    const head = await host.resolveRef('ledger', 'main');
    expect(artifacts.items.map(a => a.branch)).toEqual(['feature/faster-startup', 'main', 'main']);
    expect(artifacts.items[1].sha).toBe(head);
    // both main builds are real commits on main (the older one is what production runs)
    expect(await host.branchContains('ledger', 'main', artifacts.items[2].sha)).toBe(true);

    const status = await manager.status('ledger');
    const running = Object.fromEntries(status.map(s => [s.environment, s.release?.artifactId]));
    expect(running).toEqual({
      dev: artifacts.items[0].id,
      staging: artifacts.items[1].id,
      prod: artifacts.items[2].id,
    });
    // the seed invents no rollout state: a cluster (agent or the labelled simulated cluster) reports it
    expect(status.map(s => s.release?.rollout.state)).toEqual(['pending', 'pending', 'pending']);
    const prodManifest = (await host.readFile('config', 'prod/releases/payments/ledger/deployment.yaml')).content.toString();
    expect(prodManifest).toContain(`image: registry.local/ledger:${artifacts.items[2].sha.slice(0, 10)}`);
    const policies = await manager.getPolicies('ledger');
    expect(policies.autoReleases).toEqual([expect.objectContaining({ branch: 'main', environment: 'dev' })]);

    const { stdout: before } = await runGit(['rev-parse', 'main'], { cwd: host.repoPath('config') });
    expect(await seedDemo({ manager, gitHost: host, logger })).toEqual([]);
    const { stdout: after } = await runGit(['rev-parse', 'main'], { cwd: host.repoPath('config') });
    expect(after).toBe(before);

    // A restart on an empty database and blob store (issue 12: this pushed an auto-release):
    // git says the service was seeded, so nothing is uploaded, released or committed.
    const fresh = new ReleaseManager({
      store: await ReleaseManagerStore.create({ database: mockServices.database({ knex: await databases.init('SQLITE_3') }) }),
      blobs: new LocalDirectoryBlobStore(path.join(root, 'blobs-2')),
      writer: await GitOpsWriter.create({ workDir: path.join(root, 'work-2'), remoteUrl: host.repoPath('config') }),
      environments: DEFAULT_ENVIRONMENTS,
      notifier: new Notifier({ logger }),
      logger,
      configRepoKey: 'local:config',
      signer: await OpenPgpCommitSigner.fromGnupgHome({ gnupgHome: path.join(root, 'gnupg'), name: 'RM', email: 'rm@x' }),
    });
    expect(await seedDemo({ manager: fresh, gitHost: host, logger })).toEqual([]);
    const { stdout: afterRestart } = await runGit(['rev-parse', 'main'], { cwd: host.repoPath('config') });
    expect(afterRestart).toBe(before);
    const rebuilt = await fresh.status('ledger');
    expect(rebuilt.map(s => s.release?.artifactId)).toEqual(status.map(s => s.release?.artifactId));
  });
});
