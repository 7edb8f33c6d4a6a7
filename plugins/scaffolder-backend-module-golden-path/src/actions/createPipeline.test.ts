import { mockContext } from '../__testUtils__/mockContext';
import { runGit } from '@devplane/plugin-git-host-node';
import YAML from 'yaml';
import { RepoHosts } from '../lib/repoHosts';
import { checkpointStore } from '../testing/context';
import {
  createGoldenPathFixture,
  GoldenPathFixture,
  renderSkeleton,
} from '../testing/fixture';
import { createPipelineAction } from './createPipeline';
import { createRepoAction } from './createRepo';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { resolvePackagePath } from '@backstage/backend-plugin-api';
import { artifactIdFor } from '@devplane/plugin-release-manager-common';

// Real git repositories on two shared cores: give each test room.
jest.setTimeout(60_000);

describe('devplane:pipeline:create', () => {
  let fx: GoldenPathFixture;
  beforeEach(async () => {
    fx = await createGoldenPathFixture();
    await fx.gitHost.createRepo('payment-api', {
      files: { 'README.md': '# payment-api\n' },
    });
  });
  afterEach(() => fx.close());

  const run = async (
    overrides: Record<string, any> = {},
    opts: {
      checkpoints?: ReturnType<typeof checkpointStore>;
      deps?: typeof fx.deps;
    } = {},
  ) => {
    const m = mockContext({
      input: {
        name: 'payment-api',
        squad: 'payments',
        kind: 'go',
        ...overrides,
      },
      workspacePath: fx.workspace,
      checkpoints: opts.checkpoints,
    });
    await createPipelineAction(opts.deps ?? fx.deps).handler(m.ctx);
    return { outputs: m.outputs(), logger: m.logger };
  };
  const commits = async () =>
    (
      await runGit(['rev-list', '--count', 'main'], {
        cwd: fx.gitHost.repoPath('payment-api'),
      })
    ).stdout.trim();

  it('commits the CI workflow and the pipeline script, and says no registration is needed', async () => {
    const { outputs, logger } = await run();
    const workflow = (
      await fx.gitHost.readFile('payment-api', '.github/workflows/ci.yaml')
    ).content.toString();
    const parsed = YAML.parse(workflow);
    const steps = parsed.jobs['build-test-upload'].steps.map(
      (s: any) => s.name ?? s.uses,
    );
    expect(steps).toEqual([
      'actions/checkout@v4',
      'actions/setup-go@v5',
      'Build',
      'Test',
      'Upload artifact to the release manager',
    ]);
    expect(workflow).toContain('sh ci/pipeline.sh upload');
    expect(workflow).toMatch(/RELEASE_MANAGER_CLI: npx .* release-manager/);
    const script = (
      await fx.gitHost.readFile('payment-api', 'ci/pipeline.sh')
    ).content.toString();
    expect(script).toMatch(/^#!\/usr\/bin\/env sh/);
    expect(script).toContain(
      'artifact push --spec artifact.json --manifests k8s-rendered',
    );
    expect(outputs.commit).toBe(
      await fx.gitHost.resolveRef('payment-api', 'main'),
    );
    expect(await commits()).toBe('2');
    expect(logger.lines).toContainEqual(
      expect.stringMatching(
        /registration: none needed.*local git host has no CI server/,
      ),
    );
  });

  it('does not commit twice when the step is replayed', async () => {
    const checkpoints = checkpointStore();
    const a = await run({}, { checkpoints });
    const b = await run({}, { checkpoints });
    expect(b.outputs.commit).toBe(a.outputs.commit);
    expect(await commits()).toBe('2');
  });

  it('deletes the repository when committing the pipeline fails, and says why', async () => {
    const hosts = new RepoHosts(fx.gitHost);
    const local = hosts.get('local');
    const broken = Object.assign(
      Object.create(Object.getPrototypeOf(local)),
      local,
      {
        commitFiles: async () => {
          throw new Error('push rejected by hook');
        },
      },
    );
    const deps = {
      ...fx.deps,
      repoHosts: { get: () => broken } as unknown as RepoHosts,
    };
    let error: Error | undefined;
    await run({}, { deps }).catch(e => (error = e));
    expect(error?.message).toMatch(
      /Creating the pipeline failed: .*push rejected by hook/,
    );
    expect(error?.message).toMatch(
      /Rolled back: repository payment-api on local/,
    );
    expect(await fx.gitHost.exists('payment-api')).toBe(false);
  });
});

describe('the generated pipeline script, run for real', () => {
  let fx: GoldenPathFixture;
  beforeEach(async () => {
    fx = await createGoldenPathFixture();
  });
  afterEach(() => fx.close());

  it('builds, tests and uploads the artifact with the release manager CLI, and tolerates the first deploy having uploaded it', async () => {
    const input = {
      name: 'web-site',
      squad: 'payments',
      description: 'Site',
      kind: 'static',
    };
    await renderSkeleton(
      'static',
      { name: 'web-site', description: 'Site' },
      fx.workspace,
    );
    await createRepoAction(fx.deps).handler(
      mockContext({ input, workspacePath: fx.workspace }).ctx,
    );
    await createPipelineAction(fx.deps).handler(
      mockContext({ input, workspacePath: fx.workspace }).ctx,
    );
    const checkout = path.join(fx.root, 'checkout');
    await runGit([
      'clone',
      '--quiet',
      fx.gitHost.repoPath('web-site'),
      checkout,
    ]);
    const head = (
      await runGit(['rev-parse', 'HEAD'], { cwd: checkout })
    ).stdout.trim();
    const cli = resolvePackagePath(
      '@devplane/plugin-release-manager-cli',
      'bin/release-manager',
    );
    const run = () =>
      new Promise<{ code: number | null; out: string }>(resolve => {
        const child = spawn('sh', ['ci/pipeline.sh'], {
          cwd: checkout,
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            RELEASE_MANAGER_URL: fx.standIn.baseUrl,
            RELEASE_MANAGER_TOKEN: 'ci-token',
            RELEASE_MANAGER_CLI: `${process.execPath} ${cli}`,
          },
        });
        let out = '';
        child.stdout.on('data', d => (out += d));
        child.stderr.on('data', d => (out += d));
        child.on('close', code => resolve({ code, out }));
      });

    const first = await run();
    expect(first.out).toContain('--- build');
    expect(first.out).toContain('--- test');
    expect(first.code).toBe(0);
    const upload = fx.standIn.requests.find(r => r.path === '/artifacts')!;
    expect(upload.authorization).toBe('Bearer ci-token');
    expect(upload.body.spec).toMatchObject({
      id: artifactIdFor('main', head),
      service: 'web-site',
      namespace: 'payments',
      application: { branch: 'main', sha: head, name: 'web-site' },
    });
    expect(Object.keys(upload.body.manifests).sort()).toEqual([
      'dev',
      'prod',
      'staging',
    ]);
    expect(upload.body.manifests.prod['deployment.yaml']).toContain(
      `registry.localhost:5000/payments/web-site:${head}`,
    );

    // Same commit again (e.g. uploaded by the first deploy already): 409 → still green.
    const second = await run();
    expect(second.code).toBe(0);
    expect(second.out).toContain(
      `artifact ${artifactIdFor('main', head)} exists already`,
    );
  });
});
