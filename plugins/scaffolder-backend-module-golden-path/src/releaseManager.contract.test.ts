/* eslint-disable @backstage/no-undeclared-imports, @backstage/no-mixed-plugin-imports */
// Contract test: the golden path against the real release-manager-backend plugin (a sibling
// workspace package) in a test backend, over HTTP. Its imports are workspace packages that are
// not (yet) devDependencies of this package; see the README.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AddressInfo } from 'node:net';
import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { notificationService } from '@backstage/plugin-notifications-node';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { LocalGitHost, runGit } from '@devplane/plugin-git-host-node';
import releaseManagerPlugin from '@devplane/plugin-release-manager-backend';
import { mockContext } from './__testUtils__/mockContext';
import { createGoldenPathActions } from './actions';
import {
  formatGoldenPathBench,
  runGoldenPathBench,
} from './bench/goldenPathBench';
import { GoldenPathDeps } from './lib/deps';
import { ReleaseManagerClient } from './lib/releaseManager';
import { RepoHosts } from './lib/repoHosts';
import { createGoldenPathFixture, GoldenPathFixture } from './testing/fixture';

jest.setTimeout(300_000);

const users = ['alice', 'mallory'].map(name => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'User',
  metadata: { name, namespace: 'default' },
  spec: {
    profile: { email: `${name}@bank.example`, displayName: name },
    memberOf: ['payments'],
  },
}));

describe('golden path against the real release manager backend', () => {
  let dataDir: string;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  let gitHost: LocalGitHost;
  let fx: GoldenPathFixture;
  let deps: GoldenPathDeps;

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gp-contract-'));
    backend = await startTestBackend({
      features: [
        releaseManagerPlugin,
        mockServices.rootConfig.factory({
          data: {
            backend: { baseUrl: 'http://localhost:7007' },
            devplane: { dataDir },
            // This catalog stand-in knows no components (their names are generated per run), so
            // production can neither find the owners nor the source repo: the uploaders are named
            // and branch verification is off here. The e2e golden path runs with both on.
            releaseManager: {
              environments: [
                { name: 'dev' },
                { name: 'staging' },
                {
                  name: 'prod',
                  production: true,
                  guardrails: {
                    verifyBranch: false,
                    uploaders: ['user:default/alice', 'user:default/mallory'],
                  },
                },
              ],
            },
          },
        }),
        catalogServiceMock.factory({ entities: users }),
        createServiceFactory({
          service: notificationService,
          deps: {},
          factory: () => ({ send: async () => {} }),
        }),
        createServiceFactory({
          service: signalsServiceRef,
          deps: {},
          factory: () => ({ publish: async () => {} }),
        }),
        createServiceFactory({
          service: coreServices.permissions,
          deps: {},
          // Mallory may do everything except release to production.
          factory: () => ({
            authorize: async (requests: any[], opts: any) =>
              requests.map(r => ({
                result:
                  opts?.credentials?.principal?.userEntityRef ===
                    'user:default/mallory' &&
                  r.permission.name === 'release-manager.promote.production'
                    ? AuthorizeResult.DENY
                    : AuthorizeResult.ALLOW,
              })),
            authorizeConditional: async (requests: any[]) =>
              requests.map(() => ({ result: AuthorizeResult.ALLOW })),
          }),
        }),
      ],
    });
    const port = (backend.server.address() as AddressInfo).port;
    const baseUrl = `http://localhost:${port}/api/release-manager`;
    gitHost = new LocalGitHost({
      rootDir: path.join(dataDir, 'git'),
      baseUrl: 'http://localhost:7007/api/git-host/repos',
    });
    fx = await createGoldenPathFixture();
    deps = {
      ...fx.deps,
      repoHosts: new RepoHosts(gitHost),
      releaseManager: new ReleaseManagerClient({
        discovery: {
          getBaseUrl: async () => baseUrl,
          getExternalBaseUrl: async () => baseUrl,
        },
        auth: mockServices.auth(),
      }),
    };
  });

  afterAll(async () => {
    await backend?.stop();
    await fx?.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('releases a new service to prod with the right commit and trailers', async () => {
    const workDir = path.join(dataDir, 'work');
    await fs.mkdir(workDir, { recursive: true });
    // GOLDEN_PATH_BENCH_ITERATIONS=10 turns this into the bench against the real backend.
    const iterations = Number(process.env.GOLDEN_PATH_BENCH_ITERATIONS ?? 1);
    const result = await runGoldenPathBench({
      iterations,
      kind: 'go',
      deps,
      workDir,
      user: mockCredentials.user('user:default/alice'),
      author: { name: 'Alice', email: 'alice@bank.example' },
    });
    if (iterations > 1) {
      // eslint-disable-next-line no-console
      console.log(formatGoldenPathBench(result));
    }
    const { name, releaseId } = result.runs[result.runs.length - 1];
    const head = (await gitHost.resolveRef(name, 'main'))!;
    const cwd = gitHost.repoPath('config');
    expect(releaseId).toBe(
      (await runGit(['rev-parse', 'main'], { cwd })).stdout.trim(),
    );
    const message = (
      await runGit(['log', '-1', '--format=%B', releaseId], { cwd })
    ).stdout;
    const artifactId = `main-${head.slice(0, 10)}-${head.slice(0, 10)}`;
    expect(message).toContain(
      `[prod/${name}] release ${artifactId} by alice@bank.example`,
    );
    expect(message).toContain(`Service: ${name}`);
    expect(message).toContain('Environment: prod');
    expect(message).toContain(`Artifact-ID: ${artifactId}`);
    expect(message).toContain('Artifact-released-by: alice@bank.example');
    expect(message).toContain('Artifact-created-by: alice@bank.example');
    const files = (
      await runGit(
        [
          'ls-tree',
          '-r',
          '--name-only',
          releaseId,
          `prod/releases/payments/${name}/`,
        ],
        { cwd },
      )
    ).stdout;
    expect(files).toContain(`prod/releases/payments/${name}/deployment.yaml`);
    const policies = JSON.parse(
      (await runGit(['show', `main:policies/${name}.json`], { cwd })).stdout,
    );
    expect(policies.autoReleases).toEqual([
      expect.objectContaining({ branch: 'main', environment: 'dev' }),
    ]);
    expect(policies.branchRestrictions).toEqual([
      expect.objectContaining({
        branchRegex: '^(master|main)$',
        environment: 'prod',
      }),
    ]);
  });

  it('rolls back when the release manager refuses the production release', async () => {
    const [, repo, pipeline, firstDeploy] = createGoldenPathActions(deps);
    const name = 'refused-service';
    const workspacePath = path.join(dataDir, 'ws-refused');
    await fs.mkdir(workspacePath, { recursive: true });
    const common = { workspacePath };
    await repo.handler(
      mockContext({
        ...common,
        input: { name, squad: 'payments', description: 'x', kind: 'static' },
      }).ctx,
    );
    await pipeline.handler(
      mockContext({
        ...common,
        input: { name, squad: 'payments', kind: 'static' },
      }).ctx,
    );
    const m = mockContext({ ...common, input: { name, squad: 'payments' } });
    m.ctx.getInitiatorCredentials = async () =>
      mockCredentials.user('user:default/mallory');
    const error = await firstDeploy.handler(m.ctx).then(
      () => undefined,
      e => e,
    );
    expect(error?.message).toMatch(
      /^First production deploy failed while releasing main-[\w-]+ to prod: .*answered 403: You are not allowed/,
    );
    expect(error?.message).toMatch(
      /Rolled back: auto-release policy main → dev/,
    );
    expect(await gitHost.exists(name)).toBe(false);
    const policies = JSON.parse(
      (
        await runGit(['show', `main:policies/${name}.json`], {
          cwd: gitHost.repoPath('config'),
        })
      ).stdout,
    );
    expect(policies.autoReleases).toEqual([]);
    expect(policies.branchRestrictions).toHaveLength(1);
  });

  it.each([
    ['a 502 after the commit', 'bad-gateway'],
    ['a lost connection after the commit', 'lost'],
  ])(
    'an ambiguous release failure (%s) keeps the repository, policies and catalog entry; prod runs it',
    async (_what, mode) => {
      const name = `ambiguous-${mode}`;
      // the real release manager behind a proxy that loses the answer to POST /releases after
      // the server handled it (committed the release)
      const baseUrl = await (deps.releaseManager as any).deps.discovery.getBaseUrl();
      const lossy: typeof fetch = async (url, init) => {
        const res = await fetch(url, init);
        if (String(url).endsWith('/releases') && init?.method === 'POST') {
          await res.text();
          if (mode === 'lost') throw new TypeError('fetch failed (socket hang up)');
          return new Response('{"message":"Bad Gateway"}', { status: 502 });
        }
        return res;
      };
      const lossyDeps: GoldenPathDeps = {
        ...deps,
        releaseManager: new ReleaseManagerClient({
          discovery: { getBaseUrl: async () => baseUrl, getExternalBaseUrl: async () => baseUrl },
          auth: mockServices.auth(),
          fetch: lossy,
        }),
      };
      const [, repo, pipeline, firstDeploy] = createGoldenPathActions(lossyDeps);
      const workspacePath = path.join(dataDir, `ws-${name}`);
      await fs.mkdir(workspacePath, { recursive: true });
      await repo.handler(
        mockContext({
          workspacePath,
          input: { name, squad: 'payments', description: 'x', kind: 'static' },
        }).ctx,
      );
      await pipeline.handler(
        mockContext({ workspacePath, input: { name, squad: 'payments', kind: 'static' } }).ctx,
      );
      const m = mockContext({ workspacePath, input: { name, squad: 'payments' } });
      m.ctx.getInitiatorCredentials = async () => mockCredentials.user('user:default/alice');
      await firstDeploy.handler(m.ctx);
      // the config repo says prod runs it, so the step succeeds and says how it knows
      const out = m.outputs();
      const cwd = gitHost.repoPath('config');
      expect(out.releaseId).toBe((await runGit(['rev-parse', 'main'], { cwd })).stdout.trim());
      expect(m.logger.lines.join('\n')).toMatch(
        /The release call failed \(.*\) but prod runs main-\w+-\w+ \(config repo commit \w+\): the release happened/,
      );
      expect(await gitHost.exists(name)).toBe(true);
      const policies = JSON.parse(
        (await runGit(['show', `main:policies/${name}.json`], { cwd })).stdout,
      );
      expect(policies.autoReleases).toHaveLength(1);
    },
  );

  it('when prod cannot be checked after an ambiguous failure, nothing is undone', async () => {
    const name = 'ambiguous-unchecked';
    const baseUrl = await (deps.releaseManager as any).deps.discovery.getBaseUrl();
    const down: typeof fetch = async (url, init) => {
      const u = String(url);
      if (u.endsWith('/releases') && init?.method === 'POST') {
        await (await fetch(url, init)).text();
        return new Response('{}', { status: 504 });
      }
      if (u.endsWith('/status')) return new Response('{}', { status: 503 });
      return fetch(url, init);
    };
    const downDeps: GoldenPathDeps = {
      ...deps,
      releaseManager: new ReleaseManagerClient({
        discovery: { getBaseUrl: async () => baseUrl, getExternalBaseUrl: async () => baseUrl },
        auth: mockServices.auth(),
        fetch: down,
      }),
    };
    const [, repo, pipeline, firstDeploy] = createGoldenPathActions(downDeps);
    const workspacePath = path.join(dataDir, `ws-${name}`);
    await fs.mkdir(workspacePath, { recursive: true });
    await repo.handler(
      mockContext({ workspacePath, input: { name, squad: 'payments', description: 'x', kind: 'static' } }).ctx,
    );
    await pipeline.handler(
      mockContext({ workspacePath, input: { name, squad: 'payments', kind: 'static' } }).ctx,
    );
    const m = mockContext({ workspacePath, input: { name, squad: 'payments' } });
    m.ctx.getInitiatorCredentials = async () => mockCredentials.user('user:default/alice');
    const error = await firstDeploy.handler(m.ctx).then(
      () => undefined,
      e => e,
    );
    expect(error?.message).toMatch(
      /answered 504.*could not be checked.*Nothing was undone: production may run it, so the repository ambiguous-unchecked, its policies and its catalog entry are kept/,
    );
    expect(await gitHost.exists(name)).toBe(true);
    const cwd = gitHost.repoPath('config');
    const policies = JSON.parse(
      (await runGit(['show', `main:policies/${name}.json`], { cwd })).stdout,
    );
    expect(policies.autoReleases).toHaveLength(1);
    // and production does run it (the server committed): which is why nothing was removed
    const log = (await runGit(['log', '-1', '--format=%s', 'main'], { cwd })).stdout;
    expect(log).toContain(`[prod/${name}] release`);
  });
});
