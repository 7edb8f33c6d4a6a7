import { ConflictError, InputError } from '@backstage/errors';
import { mockContext } from '../__testUtils__/mockContext';
import { runGit } from '@devplane/plugin-git-host-node';
import YAML from 'yaml';
import { checkpointStore } from '../testing/context';
import {
  createGoldenPathFixture,
  GoldenPathFixture,
  renderSkeleton,
} from '../testing/fixture';
import { createRepoAction } from './createRepo';

// Real git repositories on two shared cores: give each test room.
jest.setTimeout(60_000);

describe('devplane:repo:create', () => {
  let fx: GoldenPathFixture;
  beforeEach(async () => {
    fx = await createGoldenPathFixture();
  });
  afterEach(() => fx.close());

  const input = {
    name: 'payment-api',
    squad: 'payments',
    system: 'banking-core',
    description: 'Takes "card" payments',
    kind: 'node' as const,
  };

  const run = async (
    overrides: Record<string, any> = {},
    opts: {
      checkpoints?: ReturnType<typeof checkpointStore>;
      taskId?: string;
      isDryRun?: boolean;
    } = {},
  ) => {
    const m = mockContext({
      input: { ...input, ...overrides },
      workspacePath: fx.workspace,
      isDryRun: opts.isDryRun,
      taskId: opts.taskId,
      checkpoints: opts.checkpoints,
    });
    await createRepoAction(fx.deps).handler(m.ctx);
    return { outputs: m.outputs(), logger: m.logger };
  };
  const read = async (p: string, repo = 'payment-api') =>
    (await fx.gitHost.readFile(repo, p)).content.toString('utf8');

  it('creates a real repository with the skeleton and the platform files', async () => {
    await renderSkeleton(
      'node',
      { name: input.name, description: input.description },
      fx.workspace,
    );
    const { outputs, logger } = await run();

    const { files } = await fx.gitHost.listTree('payment-api', '');
    const paths = files.map(f => f.path).sort();
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'src/index.js',
        'test/server.test.js',
        'Dockerfile',
        'shuttle.yaml',
        'catalog-info.yaml',
        'mkdocs.yml',
        'docs/index.md',
        ...['dev', 'staging', 'prod'].flatMap(e => [
          `k8s/${e}/deployment.yaml`,
          `k8s/${e}/service.yaml`,
        ]),
      ]),
    );
    expect(JSON.parse(await read('package.json'))).toMatchObject({
      name: 'payment-api',
      description: 'Takes "card" payments',
    });

    const shuttle = YAML.parse(await read('shuttle.yaml'));
    expect(shuttle.vars).toEqual({
      service: 'payment-api',
      squad: 'payments',
      system: 'banking-core',
      k8s: { namespace: 'payments' },
    });
    const catalogInfo = YAML.parse(await read('catalog-info.yaml'));
    expect(catalogInfo.metadata.name).toBe('payment-api');
    expect(catalogInfo.metadata.annotations['backstage.io/techdocs-ref']).toBe(
      'dir:.',
    );
    expect(catalogInfo.spec.owner).toBeUndefined();
    expect(catalogInfo.spec.system).toBe('banking-core');

    const prod = YAML.parse(await read('k8s/prod/deployment.yaml'));
    expect(prod).toMatchObject({
      kind: 'Deployment',
      metadata: { name: 'payment-api', namespace: 'payments' },
    });
    expect(prod.spec.replicas).toBe(2);
    expect(YAML.parse(await read('k8s/dev/service.yaml')).kind).toBe('Service');

    const cloneDir = `${fx.root}/clone`;
    await runGit([
      'clone',
      '--quiet',
      fx.gitHost.repoPath('payment-api'),
      cloneDir,
    ]);
    const { stdout } = await runGit(['log', '--format=%s'], { cwd: cloneDir });
    expect(stdout.trim().split('\n')).toEqual([
      'Create payment-api from the golden path (node)',
    ]);

    expect(outputs).toMatchObject({
      repoName: 'payment-api',
      host: 'local',
      catalogInfoUrl:
        'http://localhost:7007/api/git-host/repos/payment-api/blob/main/catalog-info.yaml',
      cloneUrl: 'http://localhost:7007/api/git-host/repos/payment-api.git',
      commit: await fx.gitHost.resolveRef('payment-api', 'main'),
    });
    expect(logger.lines).toContainEqual(
      expect.stringMatching(
        /Creating repository 'payment-api' on local/,
      ),
    );
  });

  it('does not create the repository twice when a retried task replays the step', async () => {
    const checkpoints = checkpointStore();
    const first = await run({}, { checkpoints });
    const second = await run({}, { checkpoints });
    expect(second.outputs.commit).toBe(first.outputs.commit);
    const { stdout } = await runGit(['rev-list', '--count', 'main'], {
      cwd: fx.gitHost.repoPath('payment-api'),
    });
    expect(stdout.trim()).toBe('1');
  });

  it('adopts its own repository when it crashed before the checkpoint was saved', async () => {
    const first = await run({}, { taskId: 'task-7' });
    const again = await run({}, { taskId: 'task-7' });
    expect(again.outputs.commit).toBe(first.outputs.commit);
    expect(again.logger.lines).toContainEqual(
      expect.stringMatching(/already created by this task/),
    );
  });

  it("refuses to overwrite another task's repository", async () => {
    await run({}, { taskId: 'task-1' });
    await expect(run({}, { taskId: 'task-2' })).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(run({ name: 'ledger' }, { taskId: 'task-2' })).rejects.toThrow(
      "Repository 'ledger' already exists on local; pick another name",
    );
  });

  it('says so when a rollback removed the repository of an earlier attempt', async () => {
    const checkpoints = checkpointStore();
    await run({}, { checkpoints });
    await fx.gitHost.deleteRepo('payment-api');
    await expect(run({}, { checkpoints })).rejects.toThrow(
      /removed by its rollback; start a new task/,
    );
  });

  it('creates nothing in a dry run', async () => {
    const { outputs } = await run({}, { isDryRun: true });
    expect(outputs.repoName).toBe('payment-api');
    expect(await fx.gitHost.list()).toEqual(['config', 'ledger']);
  });

  it.each([['../escape'], ['Payment'], ['a/b']])(
    'rejects the name %j and creates nothing',
    async name => {
      await expect(run({ name })).rejects.toBeInstanceOf(InputError);
      expect(await fx.gitHost.list()).toEqual(['config', 'ledger']);
    },
  );

  it('rejects a path-like squad (it becomes a namespace and a path)', async () => {
    await expect(run({ squad: '../payments' })).rejects.toThrow(
      /Invalid squad/,
    );
    expect(await fx.gitHost.list()).toEqual(['config', 'ledger']);
  });

  it('refuses a GitHub host without an integration', async () => {
    await expect(run({ host: 'github.com', owner: 'acme' })).rejects.toThrow(
      /No GitHub integration is configured for host 'github.com'/,
    );
  });
});
