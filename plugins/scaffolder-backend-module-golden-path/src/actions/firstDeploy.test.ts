import { InputError } from '@backstage/errors';
import { artifactIdFor } from '@devplane/plugin-release-manager-common';
import { runGit } from '@devplane/plugin-git-host-node';
import { mockContext } from '../__testUtils__/mockContext';
import { checkpointStore } from '../testing/context';
import {
  createGoldenPathFixture,
  GoldenPathFixture,
  renderSkeleton,
} from '../testing/fixture';
import { policyId, StandInOptions } from '../testing/releaseManagerStandIn';
import { createPipelineAction } from './createPipeline';
import { createRepoAction } from './createRepo';
import { createFirstDeployAction } from './firstDeploy';

// Real git repositories on two shared cores: give each test room.
jest.setTimeout(60_000);

describe('devplane:release:first-deploy', () => {
  let fx: GoldenPathFixture;
  const setUp = async (standIn?: StandInOptions, catalogDelayMs = 0) => {
    fx = await createGoldenPathFixture({ standIn });
    await renderSkeleton(
      'node',
      { name: 'payment-api', description: 'Payments' },
      fx.workspace,
    );
    const common = { workspacePath: fx.workspace };
    await createRepoAction(fx.deps).handler(
      mockContext({
        ...common,
        input: {
          name: 'payment-api',
          squad: 'payments',
          system: 'banking-core',
          description: 'Payments',
          kind: 'node',
        },
      }).ctx,
    );
    await createPipelineAction(fx.deps).handler(
      mockContext({
        ...common,
        input: { name: 'payment-api', squad: 'payments', kind: 'node' },
      }).ctx,
    );
    // What catalog:register would have done; the catalog processes it a moment later.
    fx.locations.add(fx.gitHost.fileUrl('payment-api', 'catalog-info.yaml'), {
      name: 'payment-api',
      owner: 'group:default/payments',
      delayMs: catalogDelayMs,
    });
  };
  afterEach(() => fx.close());

  const deploy = async (
    overrides: Record<string, unknown> = {},
    checkpoints = checkpointStore(),
  ) => {
    const m = mockContext({
      workspacePath: fx.workspace,
      checkpoints,
      input: {
        name: 'payment-api',
        squad: 'payments',
        catalogInfoUrl: fx.gitHost.fileUrl('payment-api', 'catalog-info.yaml'),
        ...overrides,
      },
    });
    let error: Error | undefined;
    await createFirstDeployAction(fx.deps)
      .handler(m.ctx)
      .catch(e => (error = e));
    return { error, outputs: m.outputs(), logger: m.logger };
  };

  it('uploads the first artifact, sets the default policies and releases to prod, in that order', async () => {
    await setUp();
    const head = (await fx.gitHost.resolveRef('payment-api', 'main'))!;
    const { error, outputs, logger } = await deploy();
    expect(error).toBeUndefined();

    const reqs = fx.standIn.requests;
    expect(reqs.map(r => `${r.method} ${r.path}`)).toEqual([
      'POST /artifacts',
      'PUT /services/payment-api/policies/auto-releases',
      'PUT /services/payment-api/policies/branch-restrictions',
      'POST /releases',
    ]);
    const artifactId = artifactIdFor('main', head);
    expect(artifactId).toBe(`main-${head.slice(0, 10)}-${head.slice(0, 10)}`);

    const upload = reqs[0].body;
    expect(upload.spec).toMatchObject({
      id: artifactId,
      service: 'payment-api',
      namespace: 'payments',
      squad: 'payments',
      application: {
        branch: 'main',
        sha: head,
        message: 'Add CI pipeline: build, test, upload to the release manager',
        name: 'payment-api',
        provider: 'local-git-host',
      },
    });
    expect(Object.keys(upload.manifests).sort()).toEqual([
      'dev',
      'prod',
      'staging',
    ]);
    for (const env of ['dev', 'staging', 'prod']) {
      expect(Object.keys(upload.manifests[env]).sort()).toEqual([
        'deployment.yaml',
        'service.yaml',
      ]);
      expect(upload.manifests[env]['deployment.yaml']).toBe(
        (
          await fx.gitHost.readFile('payment-api', `k8s/${env}/deployment.yaml`)
        ).content.toString(),
      );
    }
    expect(reqs[1].body).toEqual({ branch: 'main', environment: 'dev' });
    expect(reqs[2].body).toEqual({
      branchRegex: '^(master|main)$',
      environment: 'prod',
    });
    expect(reqs[3].body).toMatchObject({
      service: 'payment-api',
      environment: 'prod',
      artifactId,
    });

    // All on behalf of the user who ran the template (the audit trail names them).
    for (const r of reqs) {
      expect(r.authorization).toBe(
        'Bearer fake:user:user:default/mock:release-manager',
      );
    }

    const configHead = await fx.gitHost.resolveRef('config', 'main');
    expect(outputs).toEqual({
      artifactId,
      releaseId: configHead,
      commit: head,
      environment: 'prod',
      entityRef: 'component:default/payment-api',
      releaseUrl:
        'http://localhost:3000/catalog/default/component/payment-api/releases',
    });
    const { stdout } = await runGit(['log', '-1', '--format=%B'], {
      cwd: fx.gitHost.repoPath('config'),
    });
    expect(stdout).toContain(`[prod/payment-api] release ${artifactId}`);
    expect(stdout).toContain('Environment: prod');
    expect(
      (
        await fx.gitHost.readFile(
          'config',
          'prod/releases/payments/payment-api/deployment.yaml',
        )
      ).content.length,
    ).toBeGreaterThan(0);
    expect(logger.lines.filter(l => l.startsWith('info:'))).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /First production deploy of 'payment-api' to prod/,
        ),
        expect.stringMatching(/^info: Uploaded artifact main-/),
        expect.stringMatching(/^info: Released main-.* to prod/),
      ]),
    );
  });

  it('waits for the catalog to show the new component with its owner before the owner-only calls', async () => {
    // The component appears 3 s after registration: the step must still be waiting for it, even
    // when a busy machine is slow to reach the first catalog lookup.
    await setUp(undefined, 3000);
    const started = Date.now();
    const { error, logger } = await deploy();
    expect(error).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(logger.lines).toContainEqual(
      expect.stringMatching(
        /Waiting for the catalog to process component:default\/payment-api/,
      ),
    );
    expect(logger.lines).toContainEqual(
      expect.stringMatching(
        /Catalog shows component:default\/payment-api, owned by group:default\/payments/,
      ),
    );
  });

  it('carries on with a warning when the catalog is too slow', async () => {
    await setUp(undefined, 60_000);
    const { error, logger } = await deploy({ waitForCatalogSeconds: 1 });
    expect(error).toBeUndefined();
    expect(logger.lines).toContainEqual(
      expect.stringMatching(
        /^warn: The catalog does not show component:default\/payment-api with an owner after 1 s/,
      ),
    );
  });

  it('makes no second upload, policy or release when a retried task replays the step', async () => {
    await setUp();
    const checkpoints = checkpointStore();
    const first = await deploy({}, checkpoints);
    const second = await deploy({}, checkpoints);
    expect(second.error).toBeUndefined();
    expect(second.outputs).toEqual(first.outputs);
    expect(fx.standIn.requests).toHaveLength(4);
    expect(fx.standIn.policies.get('payment-api')!.autoReleases).toHaveLength(
      1,
    );
  });

  it('treats an artifact uploaded by a crashed attempt as uploaded', async () => {
    await setUp();
    const first = await deploy({}, checkpointStore());
    // Same task crashed after the upload, before its checkpoint: the release manager says 409.
    const again = await deploy({}, checkpointStore());
    expect(again.error).toBeUndefined();
    expect(again.outputs.artifactId).toBe(first.outputs.artifactId);
  });

  it('registers the component itself (registerCatalogInfo) as its first undoable step', async () => {
    await setUp();
    const url = fx.gitHost.fileUrl('payment-api', 'catalog-info.yaml');
    fx.locations.byTarget.delete(url); // not registered by an earlier step this time
    fx.locations.onRegister = () => ({
      name: 'payment-api',
      owner: 'group:default/payments',
      delayMs: 50,
    });
    const { error, outputs, logger } = await deploy({ registerCatalogInfo: true });
    expect(error).toBeUndefined();
    expect(fx.locations.byTarget.has(url)).toBe(true);
    expect(outputs.entityRef).toBe('component:default/payment-api');
    expect(logger.lines).toContainEqual(`info: Registered ${url} in the catalog`);
  });

  it('a failed catalog registration undoes the repository', async () => {
    await setUp();
    const url = fx.gitHost.fileUrl('payment-api', 'catalog-info.yaml');
    fx.locations.byTarget.delete(url);
    fx.locations.failNextAdd = new Error('catalog answered 500');
    const { error } = await deploy({ registerCatalogInfo: true });
    expect(error?.message).toMatch(
      /^First production deploy failed while registering the component in the catalog: .*catalog answered 500\. .*Rolled back: repository payment-api on local\./,
    );
    expect(await fx.gitHost.exists('payment-api')).toBe(false);
    expect(fx.standIn.requests).toEqual([]);
  });

  it('undoes the golden path when the release fails, and says which step failed and why', async () => {
    await setUp({
      fail: {
        'POST /releases': { status: 500, message: 'config repo push rejected' },
      },
    });
    const { error, logger } = await deploy();
    expect(error?.message).toMatch(
      /^First production deploy failed while releasing main-\w+-\w+ to prod: .*config repo push rejected/,
    );
    expect(error?.message).toMatch(
      /Rolled back: auto-release policy main → dev of payment-api \(policy auto-release-[0-9a-f]{10}\); catalog location .*; repository payment-api on local\./,
    );
    expect(error?.message).toMatch(
      /Kept: branch restriction prod ← \^\(master\|main\)\$ of payment-api/,
    );
    expect(error?.message).toMatch(
      /Needs manual cleanup: artifact main-\w+-\w+ of payment-api/,
    );

    expect(await fx.gitHost.exists('payment-api')).toBe(false);
    const left = fx.standIn.policies.get('payment-api')!;
    expect(left.autoReleases).toEqual([]);
    expect(left.branchRestrictions).toEqual([
      expect.objectContaining({
        branchRegex: '^(master|main)$',
        environment: 'prod',
      }),
    ]);
    expect(fx.locations.removed).toEqual(['loc-1']);
    // the policy is deleted as the user, then the policies are read back to check it is gone
    const tail = fx.standIn.requests.slice(-2);
    expect(tail.map(r => `${r.method} ${r.path}`)).toEqual([
      `DELETE /services/payment-api/policies/${policyId(
        'auto-release',
        'main',
        'dev',
      )}`,
      'GET /services/payment-api/policies',
    ]);
    expect(tail[0].authorization).toMatch(/^Bearer fake:user:/);
    expect(logger.lines).toContainEqual(
      expect.stringMatching(
        /^error: First production deploy failed while releasing/,
      ),
    );
    expect(logger.lines).toContainEqual(
      expect.stringMatching(/^info: Rollback: removed repository payment-api/),
    );
    expect(logger.lines).toContainEqual(
      expect.stringMatching(
        /^warn: Rollback: left for manual cleanup: artifact/,
      ),
    );
  });

  it('undoes only what exists when the upload itself fails', async () => {
    await setUp({
      fail: {
        'POST /artifacts': { status: 503, message: 'blob store unavailable' },
      },
    });
    const { error } = await deploy();
    expect(error?.message).toMatch(
      /failed while uploading the artifact: .*blob store unavailable/,
    );
    expect(error?.message).not.toMatch(/policy|manual cleanup/);
    expect(await fx.gitHost.exists('payment-api')).toBe(false);
    expect(fx.standIn.requests.map(r => `${r.method} ${r.path}`)).toEqual([
      'POST /artifacts',
    ]);
  });

  it('lists what it could not undo for manual cleanup', async () => {
    await setUp({
      fail: {
        'PUT /services/:service/policies/branch-restrictions': {
          status: 400,
          message: 'bad regex',
        },
        'DELETE /services/:service/policies/:policyId': {
          status: 500,
          message: 'db down',
        },
      },
    });
    const { error } = await deploy();
    expect(error?.message).toMatch(
      /failed while setting the branch restriction/,
    );
    expect(error?.message).toMatch(
      /Needs manual cleanup: .*auto-release policy main → dev of payment-api \(policy auto-release-\w+\) \(could not remove it: .*db down/,
    );
    expect(await fx.gitHost.exists('payment-api')).toBe(false);
  });

  it('keeps everything when cleanup is disabled', async () => {
    await setUp({
      fail: { 'POST /releases': { status: 500, message: 'nope' } },
    });
    const { error } = await deploy({ cleanupOnFailure: false });
    expect(error?.message).toMatch(/cleanup disabled/);
    expect(await fx.gitHost.exists('payment-api')).toBe(true);
  });

  it('rejects bad input before calling anyone', async () => {
    await setUp();
    const { error } = await deploy({ name: '../payment-api' });
    expect(error).toBeInstanceOf(InputError);
    const { error: envError } = await deploy({ environment: 'Prod/../x' });
    expect(envError).toBeInstanceOf(InputError);
    expect(fx.standIn.requests).toHaveLength(0);
    expect(await fx.gitHost.exists('payment-api')).toBe(true);
  });

  it('does nothing in a dry run', async () => {
    await setUp();
    const m = mockContext({
      workspacePath: fx.workspace,
      isDryRun: true,
      input: { name: 'payment-api', squad: 'payments' },
    });
    await createFirstDeployAction(fx.deps).handler(m.ctx);
    expect(fx.standIn.requests).toHaveLength(0);
  });
});
