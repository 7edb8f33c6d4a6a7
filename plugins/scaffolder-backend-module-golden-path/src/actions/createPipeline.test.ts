import { mockContext } from '../__testUtils__/mockContext';
import { runGit } from '@devplane/plugin-git-host-node';
import YAML from 'yaml';
import { RepoHosts } from '../lib/repoHosts';
import { checkpointStore } from '../testing/context';
import { createGoldenPathFixture, GoldenPathFixture } from '../testing/fixture';
import { createPipelineAction } from './createPipeline';

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
    expect(workflow).toContain('go test ./...');
    expect(workflow).toMatch(/release-manager artifact push/);
    const script = (
      await fx.gitHost.readFile('payment-api', 'ci/pipeline.sh')
    ).content.toString();
    expect(script).toMatch(/^#!\/usr\/bin\/env sh/);
    expect(script).toContain(
      'release-manager artifact push --service "$SERVICE"',
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
