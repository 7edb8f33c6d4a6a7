import fs from 'node:fs/promises';
import path from 'node:path';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { InputError } from '@backstage/errors';
import { runGit } from '@devplane/plugin-git-host-node';
import { mockContext } from '../__testUtils__/mockContext';
import { checkpointStore } from '../testing/context';
import {
  createGoldenPathFixture,
  GoldenPathFixture,
  renderSkeleton,
} from '../testing/fixture';
import { GoldenPathDeps } from '../lib/deps';
import { ReleaseManagerClient } from '../lib/releaseManager';
import { createPipelineAction } from './createPipeline';
import { createRepoAction } from './createRepo';
import { createFirstDeployAction } from './firstDeploy';

// The real release manager in a test backend plus real git repositories on two shared cores.
jest.setTimeout(120_000);

const ALICE = mockCredentials.user('user:default/alice');
const MALLORY = mockCredentials.user('user:default/mallory');

describe('devplane:release:first-deploy (through the push path, real release manager)', () => {
  let fx: GoldenPathFixture;
  let n = 0;
  let name: string;

  beforeAll(async () => {
    fx = await createGoldenPathFixture({ realReleaseManager: true });
  });
  afterAll(() => fx?.close());

  /** A new repository (repo + pipeline actions), registered in the catalog unless told otherwise. */
  const setUp = async (
    opts: { catalogDelayMs?: number; register?: boolean } = {},
  ) => {
    n += 1;
    name = `svc-${n}-${Date.now().toString(36)}`;
    const workspacePath = path.join(fx.root, `ws-${name}`);
    await fs.mkdir(workspacePath, { recursive: true });
    await renderSkeleton(
      'node',
      { name, description: 'Payments' },
      workspacePath,
    );
    await createRepoAction(fx.deps).handler(
      mockContext({
        workspacePath,
        input: {
          name,
          squad: 'payments',
          system: 'banking-core',
          description: 'Payments',
          kind: 'node',
        },
      }).ctx,
    );
    await createPipelineAction(fx.deps).handler(
      mockContext({
        workspacePath,
        input: { name, squad: 'payments', kind: 'node' },
      }).ctx,
    );
    if (opts.register !== false) {
      // what the registration does; the catalog processes it a moment later
      fx.locations.add(fx.gitHost.fileUrl(name, 'catalog-info.yaml'), {
        name,
        owner: 'group:default/payments',
        delayMs: opts.catalogDelayMs ?? 0,
      });
    }
    return workspacePath;
  };

  /** The release manager client with a fetch in between (to lose or fail answers). */
  const depsWith = (
    wrap?: (f: typeof fetch) => typeof fetch,
  ): GoldenPathDeps => {
    const baseUrl = fx.standIn.baseUrl;
    return {
      ...fx.deps,
      releaseManager: new ReleaseManagerClient({
        discovery: {
          getBaseUrl: async () => baseUrl,
          getExternalBaseUrl: async () => baseUrl,
        },
        auth: mockServices.auth(),
        fetch: wrap ? wrap(fetch) : undefined,
      }),
    };
  };

  const deploy = async (
    overrides: Record<string, unknown> = {},
    opts: {
      checkpoints?: ReturnType<typeof checkpointStore>;
      user?: typeof ALICE;
      deps?: GoldenPathDeps;
    } = {},
  ) => {
    const m = mockContext({
      workspacePath: fx.workspace,
      checkpoints: opts.checkpoints ?? checkpointStore(),
      input: {
        name,
        squad: 'payments',
        catalogInfoUrl: fx.gitHost.fileUrl(name, 'catalog-info.yaml'),
        stageTimeoutSeconds: 60,
        ...overrides,
      },
    });
    m.ctx.getInitiatorCredentials = async () => opts.user ?? ALICE;
    let error: Error | undefined;
    await createFirstDeployAction(opts.deps ?? fx.deps)
      .handler(m.ctx)
      .catch(e => (error = e));
    return { error, outputs: m.outputs(), logger: m.logger };
  };

  const config = (args: string[]) =>
    runGit(args, { cwd: fx.gitHost.repoPath('config') }).then(r => r.stdout);
  const policiesOf = async (service: string) =>
    JSON.parse(await config(['show', `main:policies/${service}.json`]));
  const releaseCommits = async (service: string) =>
    (await config(['log', '--format=%H %s', 'main']))
      .split('\n')
      .filter(l => l.includes(`/${service}] `));
  const pushesOf = async (service: string) => {
    const res = await fetch(
      `${fx.standIn.baseUrl}/services/${service}/pushes`,
      {
        headers: {
          authorization: mockCredentials.user.header('user:default/alice'),
        },
      },
    );
    return (await res.json()).items as any[];
  };

  it('sets the policies as the user, pushes main as the user, and the push reaches dev then prod by the auto-release policies', async () => {
    await setUp();
    const head = (await fx.gitHost.resolveRef(name, 'main'))!;
    const { error, outputs, logger } = await deploy();
    expect(error).toBeUndefined();

    // one push of main at the head, by the user, through the local git host
    const pushes = await pushesOf(name);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]).toMatchObject({
      sha: head,
      branch: 'main',
      pusher: 'user:default/alice',
      source: 'local-git-host',
      artifactId: outputs.artifactId,
    });
    expect(pushes[0].steps.map((s: any) => `${s.step} ${s.status}`)).toEqual([
      'received done',
      'artifact done',
      'release:dev done',
      'release:prod done',
    ]);
    expect(outputs.artifactId).toMatch(
      new RegExp(`^main-${head.slice(0, 10)}-[0-9a-f]{10}$`),
    );

    // dev first, then prod, both auto-releases carrying alice's policy authority
    const commits = await releaseCommits(name);
    const prodSha = await config(['rev-parse', 'main']);
    expect(outputs).toEqual({
      artifactId: outputs.artifactId,
      releaseId: prodSha.trim(),
      commit: head,
      environment: 'prod',
      entityRef: `component:default/${name}`,
      releaseUrl: `http://localhost:3000/catalog/default/component/${name}/releases`,
    });
    expect(commits.map(c => c.replace(/^\w+ /, ''))).toEqual([
      `[prod/${name}] auto release ${outputs.artifactId} by alice@bank.example`,
      `[dev/${name}] auto release ${outputs.artifactId} by alice@bank.example`,
      // all of the service's policies in one signed commit
      `[policies/${name}] restrict prod to branches ^(master|main)$, auto-release main to dev, auto-release main to prod by alice@bank.example`,
    ]);
    const message = await config([
      'log',
      '-1',
      '--format=%B',
      outputs.releaseId,
    ]);
    expect(message).toContain('Environment: prod');
    expect(message).toContain('Release-intent: auto-release');
    expect(message).toContain('Auto-release-policy-by: alice@bank.example');
    expect(message).toContain('Artifact-uploaded-by: user:default/alice');

    const policies = await policiesOf(name);
    expect(policies.autoReleases).toEqual([
      expect.objectContaining({
        branch: 'main',
        environment: 'dev',
        setBy: 'alice@bank.example',
      }),
      expect.objectContaining({
        branch: 'main',
        environment: 'prod',
        setBy: 'alice@bank.example',
      }),
    ]);

    // the task log numbers every stage 1..n, in the order they ran
    const numbered = logger.lines
      .map(l => /^info: \[(\d+)\/(\d+)\] (.*)$/.exec(l))
      .filter((x): x is RegExpExecArray => Boolean(x));
    expect(numbered.map(x => Number(x[1]))).toEqual(
      Array.from({ length: numbered.length }, (_, i) => i + 1),
    );
    expect(new Set(numbered.map(x => x[2]))).toEqual(
      new Set([String(numbered.length)]),
    );
    expect(numbered.map(x => x[3])).toEqual([
      expect.stringMatching(/^Catalog shows component/),
      expect.stringMatching(
        /^Policies in one commit: only branches matching .* may reach prod; artifacts from main go to dev and prod automatically/,
      ),
      expect.stringMatching(/^Pushed main at \w{10} as user:default\/alice/),
      expect.stringMatching(/^Push received by the release manager/),
      expect.stringMatching(/^Artifact main-\S+ built from the push/),
      expect.stringMatching(/^Released to dev/),
      expect.stringMatching(/^Released to prod/),
    ]);
  });

  it('waits for the catalog to show the new component with its owner before the owner-only calls', async () => {
    await setUp({ catalogDelayMs: 3000 });
    const started = Date.now();
    const { error, logger } = await deploy();
    expect(error).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(logger.lines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `Waiting for the catalog to process component:default/${name}`,
        ),
      ),
    );
  });

  it('makes no second policy change or push when a retried task replays the step', async () => {
    await setUp();
    const checkpoints = checkpointStore();
    const first = await deploy({}, { checkpoints });
    const second = await deploy({}, { checkpoints });
    expect(second.error).toBeUndefined();
    expect(second.outputs).toEqual(first.outputs);
    expect(await pushesOf(name)).toHaveLength(1);
    expect(await releaseCommits(name)).toHaveLength(3);
  });

  it('registers the component itself (registerCatalogInfo) as its first undoable step', async () => {
    await setUp({ register: false });
    const url = fx.gitHost.fileUrl(name, 'catalog-info.yaml');
    fx.locations.onRegister = () => ({
      name,
      owner: 'group:default/payments',
      delayMs: 50,
    });
    const { error, outputs, logger } = await deploy({
      registerCatalogInfo: true,
    });
    fx.locations.onRegister = undefined;
    expect(error).toBeUndefined();
    expect(fx.locations.byTarget.has(url)).toBe(true);
    expect(outputs.entityRef).toBe(`component:default/${name}`);
    expect(logger.lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^info: \\[1/8\\] Registered ${url} in the catalog \\(\\d+\\.\\d s\\)$`),
      ),
    );
  });

  it('a failed catalog registration undoes the repository and touches no policy', async () => {
    await setUp({ register: false });
    fx.locations.failNextAdd = new Error('catalog answered 500');
    const { error } = await deploy({ registerCatalogInfo: true });
    expect(error?.message).toMatch(
      new RegExp(
        `^First production deploy failed while registering the component in the catalog: .*catalog answered 500\\. .*Rolled back: repository ${name} on local\\.`,
      ),
    );
    expect(await fx.gitHost.exists(name)).toBe(false);
    expect(await releaseCommits(name)).toEqual([]);
  });

  it('someone without the production permission cannot set the prod auto-release: no policy is written, everything is undone, nothing was pushed', async () => {
    await setUp();
    const { error, logger } = await deploy({}, { user: MALLORY });
    expect(error?.message).toMatch(
      /^First production deploy failed while setting the policies \(prod only from .*; auto-release main → dev, prod\): .*answered 403/,
    );
    expect(error?.message).toMatch(
      /Rolled back: catalog location .*; repository svc-\S+ on local\.$/,
    );
    expect(error?.message).not.toMatch(/push|runs|Kept|auto-release policy main/);
    expect(await fx.gitHost.exists(name)).toBe(false);
    expect(await pushesOf(name)).toEqual([]);
    // one change refused: none of the policies was written
    await expect(policiesOf(name)).rejects.toThrow();
    expect(await releaseCommits(name)).toEqual([]);
    expect(logger.lines).toContainEqual(
      expect.stringMatching(/^info: Rollback: removed repository/),
    );
  });

  it('prod refused after dev took the push: undoes the golden path and reports the dev release it cannot undo', async () => {
    await setUp();
    // The catalog names no source repository for the component: production cannot verify the
    // artifact's branch there and refuses the auto-release; dev does not verify and takes it.
    const entity = fx.locations.components.get(`component:default/${name}`)!;
    const annotations = entity.metadata.annotations!;
    const kept = { ...annotations };
    delete annotations['backstage.io/managed-by-location'];
    delete annotations['backstage.io/source-location'];
    try {
      const { error } = await deploy();
      expect(error?.message).toMatch(
        /^First production deploy failed while waiting for the push to reach prod \(released to dev\): released to prod by its auto-release policy: refused: auto-release to prod failed: .*names no source repository/,
      );
      expect(error?.message).toMatch(
        /Rolled back: auto-release policy main → prod .*; auto-release policy main → dev .*; catalog location .*; repository svc-\S+ on local\./,
      );
      expect(error?.message).toMatch(
        /Needs manual cleanup: dev runs main-\S+ from this push \(config repo commit \w+; the release manager cannot remove a release/,
      );
      expect(await fx.gitHost.exists(name)).toBe(false);
      const commits = await releaseCommits(name);
      expect(commits.some(c => c.includes(`[dev/${name}]`))).toBe(true);
      expect(commits.some(c => c.includes(`[prod/${name}]`))).toBe(false);
      expect((await policiesOf(name)).autoReleases).toEqual([]);
    } finally {
      Object.assign(annotations, kept);
    }
  });

  it('the config repo refuses the push carrying the releases: nothing released anywhere, the undo is complete and says why', async () => {
    await setUp();
    const hook = path.join(
      fx.gitHost.repoPath('config'),
      'hooks',
      'pre-receive',
    );
    await fs.writeFile(
      hook,
      `#!/bin/sh\nwhile read old new ref; do\n  if git log --format=%s "$old..$new" 2>/dev/null | grep -q '^\\[prod/${name}\\]'; then echo "prod releases of ${name} are frozen" >&2; exit 1; fi\ndone\nexit 0\n`,
      { mode: 0o755 },
    );
    try {
      const { error } = await deploy();
      // dev and prod go out in one push: the remote refuses both, and says so
      expect(error?.message).toMatch(
        /^First production deploy failed while waiting for the push of main at \w+ to reach prod: released to dev by its auto-release policy: refused: auto-release to dev failed: The config repo refused the push \(pre-receive hook declined\): prod releases of svc-\S+ are frozen; nothing was released/,
      );
      expect(error?.message).toMatch(
        /Rolled back: auto-release policy main → prod .*; auto-release policy main → dev .*; catalog location .*; repository svc-\S+ on local\./,
      );
      expect(error?.message).not.toMatch(/ runs main-/);
      expect(await fx.gitHost.exists(name)).toBe(false);
      // the policy commits and their undo only: no release of the service in any environment
      const commits = await releaseCommits(name);
      expect(commits.length).toBeGreaterThan(0);
      expect(commits.every(c => c.includes(`[policies/${name}]`))).toBe(true);
      expect((await policiesOf(name)).autoReleases).toEqual([]);
    } finally {
      await fs.rm(hook, { force: true });
    }
  });

  it('when the progress cannot be followed but prod runs the push, the deploy succeeds and says how it knows', async () => {
    await setUp();
    // The progress answers 503, but only once the real release manager has released the push
    // to prod (so the outcome does not depend on how fast a loaded machine processes it): by
    // then the 3 s stage timeout has passed, and the action must find out from the status.
    const deps = depsWith(f => async (url, init) => {
      if (!/\/pushes(\?|$)/.test(String(url))) return f(url, init);
      for (const deadline = Date.now() + 100_000; Date.now() < deadline; ) {
        const real = await f(String(url).replace(/\?.*$/, ''), init);
        const items: any[] = real.ok ? (await real.json()).items : [];
        if (items[0]?.steps.some((st: any) => st.step === 'release:prod'))
          break;
        await new Promise(r => setTimeout(r, 100));
      }
      return new Response('{}', { status: 503 });
    });
    const { error, outputs, logger } = await deploy(
      { stageTimeoutSeconds: 3 },
      { deps },
    );
    expect(error).toBeUndefined();
    expect(outputs.releaseId).toBe(
      (await config(['rev-parse', 'main'])).trim(),
    );
    expect(logger.lines.join('\n')).toMatch(
      /no push received by the release manager within 3 s \(last error: .*503.*\).* but prod runs main-\S+ from the push \(config repo commit \w+\): the deploy happened/,
    );
    expect(await fx.gitHost.exists(name)).toBe(true);
  });

  it('when neither the progress nor what prod runs can be read after the push, nothing is undone', async () => {
    await setUp();
    const deps = depsWith(
      f => async (url, init) =>
        /\/(pushes|status)(\?|$)/.test(String(url))
          ? new Response('{}', { status: 503 })
          : f(url, init),
    );
    const { error } = await deploy({ stageTimeoutSeconds: 2 }, { deps });
    expect(error?.message).toMatch(
      new RegExp(
        `Nothing was undone: whether the push reached prod could not be checked .*503.*so the repository ${name}, its policies and its catalog entry are kept`,
      ),
    );
    expect(await fx.gitHost.exists(name)).toBe(true);
    expect((await policiesOf(name)).autoReleases).toHaveLength(2);
  });

  /** The deps with the repository host's push announcement failing (after the policies were set). */
  const withFailingPush = (deps: GoldenPathDeps): GoldenPathDeps => ({
    ...deps,
    repoHosts: {
      get: (host?: string, owner?: string) => {
        const real = deps.repoHosts.get(host, owner);
        return Object.assign(Object.create(real), {
          announcePush: async () => {
            throw new Error('git host unavailable');
          },
        });
      },
    } as unknown as GoldenPathDeps['repoHosts'],
  });

  it('lists what it could not undo for manual cleanup', async () => {
    await setUp();
    const deps = withFailingPush(
      depsWith(
        f => async (url, init) =>
          init?.method === 'DELETE'
            ? new Response('{"error":{"message":"db down"}}', { status: 500 })
            : f(url, init),
      ),
    );
    const { error } = await deploy({}, { deps });
    expect(error?.message).toMatch(
      /^First production deploy failed while pushing main: (Error: )?git host unavailable\./,
    );
    expect(error?.message).toMatch(
      /Needs manual cleanup: auto-release policy main → prod of svc-\S+ \(policy auto-release-\w+\) \(could not remove it: .*db down.*; auto-release policy main → dev of svc-\S+ \(policy auto-release-\w+\) \(could not remove it: .*db down/,
    );
    expect(await fx.gitHost.exists(name)).toBe(false);
    expect((await policiesOf(name)).autoReleases).toHaveLength(2);
  });

  it('the answer to the policy write is lost after the commit: the undo finds the policies in the config repo and removes them', async () => {
    await setUp();
    const deps = depsWith(f => async (url, init) => {
      if (init?.method !== 'PATCH') return f(url, init);
      const real = await f(url, init); // the release manager commits …
      expect(real.status).toBe(200);
      return new Response('{"error":{"message":"gateway timeout"}}', {
        status: 504,
      }); // … and the answer never arrives
    });
    const { error } = await deploy({}, { deps });
    expect(error?.message).toMatch(
      /^First production deploy failed while setting the policies .*answered 504/,
    );
    expect(error?.message).toMatch(
      /Rolled back: auto-release policy main → prod of svc-\S+ \(if the lost write made it\); auto-release policy main → dev of svc-\S+ \(if the lost write made it\); catalog location .*; repository svc-\S+ on local\./,
    );
    expect((await policiesOf(name)).autoReleases).toEqual([]);
    expect(await fx.gitHost.exists(name)).toBe(false);
    expect(await pushesOf(name)).toEqual([]);
  });

  it('keeps everything when cleanup is disabled', async () => {
    await setUp();
    const { error } = await deploy(
      { cleanupOnFailure: false },
      { user: MALLORY },
    );
    expect(error?.message).toMatch(/cleanup disabled/);
    expect(await fx.gitHost.exists(name)).toBe(true);
  });

  it('rejects bad input before calling anyone', async () => {
    await setUp();
    const { error } = await deploy({ name: '../payment-api' });
    expect(error).toBeInstanceOf(InputError);
    const { error: envError } = await deploy({ environment: 'Prod/../x' });
    expect(envError).toBeInstanceOf(InputError);
    const { error: missing } = await deploy({
      autoReleaseEnvironments: ['dev'],
    });
    expect(missing?.message).toMatch(
      /autoReleaseEnvironments must include prod/,
    );
    expect(await releaseCommits(name)).toEqual([]);
    expect(await fx.gitHost.exists(name)).toBe(true);
  });

  it('does nothing in a dry run', async () => {
    await setUp();
    const m = mockContext({
      workspacePath: fx.workspace,
      isDryRun: true,
      input: { name, squad: 'payments' },
    });
    await createFirstDeployAction(fx.deps).handler(m.ctx);
    expect(await releaseCommits(name)).toEqual([]);
    expect(await pushesOf(name)).toEqual([]);
  });
});
