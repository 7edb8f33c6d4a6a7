import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { LocalGitHost, runGit } from '@devplane/plugin-git-host-node';
import { parse } from 'yaml';
import { LocalDirectoryBlobStore } from '../blobs/BlobStore';
import { DEFAULT_ENVIRONMENTS } from '../config';
import { ReleaseManagerStore } from '../database/ReleaseManagerStore';
import { GitOpsWriter } from '../git/GitOpsWriter';
import { OpenPgpCommitSigner } from '../git/Signer';
import { Notifier } from '../service/Notifier';
import { ReleaseManager } from '../service/ReleaseManager';
import { buildEnvironment, kubectlAvailable } from './kustomizeBuild';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const actor = { ref: 'user:default/alice', email: 'alice@bank.example' };

function upload(service: string, sha: string, extra: Record<string, string> = {}) {
  const files: Record<string, string> = {
    'deployment.yaml': `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${service}\n  namespace: payments\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: ${service}}\n  template:\n    metadata:\n      labels: {app: ${service}}\n    spec:\n      containers:\n        - name: ${service}\n          image: registry.local/${service}:${sha}\n`,
    'service.yaml': `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${service}\n  namespace: payments\nspec:\n  selector: {app: ${service}}\n  ports: [{port: 80}]\n`,
    ...extra,
  };
  return {
    spec: {
      id: `main-${sha.slice(0, 10)}-bbbbbbbbbb`,
      service,
      namespace: 'payments',
      squad: 'payments',
      application: { branch: 'main', sha, authorName: 'A', authorEmail: 'a@x', message: 'm', name: service },
    },
    manifests: { dev: files, staging: files, prod: files },
  };
}

let kubectl = false;
beforeAll(async () => {
  kubectl = await kubectlAvailable();
  if (!kubectl) {
    // eslint-disable-next-line no-console
    console.warn('kubectl is NOT installed: the Flux kustomize build test cannot run here (install kubectl to run it)');
  }
});

describe('Flux objects in the config repo, built like kustomize-controller', () => {
  let root: string;
  afterEach(async () => {
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it('writes a verified GitRepository and per-service Kustomizations; every environment builds, without duplicates', async () => {
    if (!kubectl) return;
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-flux-'));
    const host = new LocalGitHost({ rootDir: path.join(root, 'git'), baseUrl: 'http://localhost:7007/api/git-host/repos' });
    await host.createRepo('config', { files: { 'README.md': 'config\n' } });
    const knex = await databases.init('SQLITE_3');
    const store = await ReleaseManagerStore.create({ database: mockServices.database({ knex }) });
    const logger = mockServices.logger.mock();
    const manager = new ReleaseManager({
      store,
      blobs: new LocalDirectoryBlobStore(path.join(root, 'blobs')),
      writer: await GitOpsWriter.create({ workDir: path.join(root, 'work'), remoteUrl: host.repoPath('config') }),
      environments: DEFAULT_ENVIRONMENTS,
      notifier: new Notifier({ logger }),
      logger,
      configRepoKey: 'local:config',
      signer: await OpenPgpCommitSigner.fromGnupgHome({ gnupgHome: path.join(root, 'gnupg'), name: 'RM', email: 'rm@x' }),
      flux: { repoUrl: 'https://git.bank.example/platform/config.git', branch: 'main' },
    });
    for (const [service, sha] of [['ledger', 'a'.repeat(40)], ['payment-gateway', 'b'.repeat(40)]]) {
      await manager.uploadArtifact(upload(service, sha), actor);
      // prod needs a branch verifier (guardrails) this test does not configure: dev and staging
      for (const env of ['dev', 'staging']) {
        await manager.release({ service, environment: env, artifactId: `main-${sha.slice(0, 10)}-bbbbbbbbbb` }, actor);
      }
    }
    const checkout = path.join(root, 'checkout');
    await runGit(['clone', '--quiet', host.repoPath('config'), checkout]);

    const gitRepository = parse(await fs.readFile(path.join(checkout, 'flux/staging/gitrepository.yaml'), 'utf8'));
    expect(gitRepository).toMatchObject({
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      spec: { url: 'https://git.bank.example/platform/config.git', ref: { branch: 'main' }, verify: { mode: 'HEAD', secretRef: { name: 'release-manager-signing-key' } } },
    });
    const ks = parse(await fs.readFile(path.join(checkout, 'flux/staging/services/ledger.yaml'), 'utf8'));
    expect(ks).toMatchObject({ kind: 'Kustomization', metadata: { name: 'ledger' }, spec: { path: './staging/releases/payments/ledger', prune: true } });

    for (const env of ['dev', 'staging']) {
      const build = await buildEnvironment(checkout, env);
      expect(build.errors).toEqual([]);
      expect(build.duplicates).toEqual([]);
      expect([...build.resources.keys()].sort()).toEqual([
        'apps/v1/Deployment payments/ledger',
        'apps/v1/Deployment payments/payment-gateway',
        'v1/Service payments/ledger',
        'v1/Service payments/payment-gateway',
      ]);
    }

    // a service that ships another service's Deployment: the build reports the duplicate
    await manager.uploadArtifact(
      upload('ledger-worker', 'c'.repeat(40), {
        'clash.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ledger\n  namespace: payments\nspec:\n  selector: {matchLabels: {app: x}}\n  template: {metadata: {labels: {app: x}}, spec: {containers: [{name: x, image: x}]}}\n',
      }),
      actor,
    );
    await manager.release({ service: 'ledger-worker', environment: 'dev', artifactId: `main-${'c'.repeat(10)}-bbbbbbbbbb` }, actor);
    await runGit(['pull', '--quiet'], { cwd: checkout });
    const clash = await buildEnvironment(checkout, 'dev');
    expect(clash.duplicates).toEqual([expect.stringMatching(/^apps\/v1\/Deployment payments\/ledger \(from (ledger, ledger-worker|ledger-worker, ledger)\)$/)]);
  });

  it('reports an invalid resource that kustomize refuses', async () => {
    if (!kubectl) return;
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-flux-bad-'));
    await fs.mkdir(path.join(root, 'flux/dev/services'), { recursive: true });
    await fs.mkdir(path.join(root, 'dev/releases/ns/svc'), { recursive: true });
    await fs.writeFile(path.join(root, 'flux/dev/services/svc.yaml'), 'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: svc}\nspec: {path: ./dev/releases/ns/svc}\n');
    await fs.writeFile(path.join(root, 'dev/releases/ns/svc/a.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
    const build = await buildEnvironment(root, 'dev');
    expect(build.errors.join('\n')).toMatch(/svc .*(already registered|conflict|may not add resource)/i);
  });
});
