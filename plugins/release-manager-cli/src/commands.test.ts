import {
  ARTIFACT_ID,
  FEATURE_ARTIFACT_ID,
  OLD_ARTIFACT_ID,
  StandIn,
  cli,
} from './__testUtils__/standIn';

describe('release-manager commands against the REST contract', () => {
  let server: StandIn;
  const run = (...argv: string[]) => cli(argv, { url: server.url });

  beforeEach(async () => {
    server = await new StandIn().start();
  });
  afterEach(() => server.stop());

  describe('release', () => {
    it('posts a release and says what changed', async () => {
      const r = await run(
        'release',
        '--service',
        'payment-gateway',
        '--env',
        'staging',
        '--artifact',
        ARTIFACT_ID,
        '--reason',
        'hotfix',
      );
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(server.requests).toHaveLength(1);
      expect(server.last).toMatchObject({
        method: 'POST',
        path: '/api/release-manager/releases',
        contentType: 'application/json',
        body: {
          service: 'payment-gateway',
          environment: 'staging',
          artifactId: ARTIFACT_ID,
          reason: 'hotfix',
        },
      });
      expect(server.last.authorization).toBeUndefined();
      expect(r.stdout).toBe(
        `payment-gateway: released ${ARTIFACT_ID} to staging\n` +
          `  commit c0ffee1 by user:default/jane: [staging/payment-gateway] release ${ARTIFACT_ID} by jane@example.com\n`,
      );
    });

    it('says nothing to do and exits 0 when the artifact already runs there', async () => {
      const r = await run(
        'release',
        '--service',
        'payment-gateway',
        '--env',
        'prod',
        '--artifact',
        ARTIFACT_ID,
      );
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        `payment-gateway: ${ARTIFACT_ID} already runs in prod, nothing to do\n`,
      );
    });

    it('prints the raw response with --json', async () => {
      const r = await run(
        'release',
        '--json',
        '--service',
        'payment-gateway',
        '--env',
        'prod',
        '--artifact',
        ARTIFACT_ID,
      );
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        changed: false,
        message: `${ARTIFACT_ID} already runs in prod`,
      });
    });

    it('sends the token from --token or RELEASE_MANAGER_TOKEN as a bearer token', async () => {
      await run(
        '--token',
        'flag-token',
        'release',
        '--service',
        'payment-gateway',
        '--env',
        'dev',
        '--artifact',
        ARTIFACT_ID,
      );
      expect(server.last.authorization).toBe('Bearer flag-token');
      await cli(
        [
          'release',
          '--service',
          'payment-gateway',
          '--env',
          'dev',
          '--artifact',
          ARTIFACT_ID,
        ],
        {
          env: {
            RELEASE_MANAGER_URL: server.url,
            RELEASE_MANAGER_TOKEN: 'env-token',
          },
        },
      );
      expect(server.last.authorization).toBe('Bearer env-token');
    });

    it('takes the server from --url over RELEASE_MANAGER_URL', async () => {
      const r = await cli(['--url', `${server.url}/`, 'environments'], {
        env: { RELEASE_MANAGER_URL: 'http://127.0.0.1:1/nowhere' },
      });
      expect(r.code).toBe(0);
      expect(server.last.path).toBe('/api/release-manager/environments');
    });

    it('refuses a feature branch in prod with exit 4 and the server message in plain words', async () => {
      const r = await run(
        'release',
        '--service',
        'payment-gateway',
        '--env',
        'prod',
        '--artifact',
        FEATURE_ARTIFACT_ID,
      );
      expect(r.code).toBe(4);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        "release-manager: refused: branch restriction: branch 'feature-login' is not allowed to reach prod (only ^(master|main)$) (HTTP 403)\n",
      );
    });
  });

  describe('promote', () => {
    it('posts a promotion and reports the artifact', async () => {
      const r = await run(
        'promote',
        '--service',
        'payment-gateway',
        '--from',
        'dev',
        '--to',
        'staging',
        '--reason',
        'green',
      );
      expect(r.code).toBe(0);
      expect(server.last).toMatchObject({
        method: 'POST',
        path: '/api/release-manager/promotions',
        body: {
          service: 'payment-gateway',
          fromEnvironment: 'dev',
          toEnvironment: 'staging',
          reason: 'green',
        },
      });
      expect(r.stdout).toMatch(
        new RegExp(
          `^payment-gateway: ${ARTIFACT_ID} promoted from dev to staging\n  commit c0ffee1 `,
        ),
      );
    });

    it('rejects promoting an environment onto itself before sending', async () => {
      const r = await run(
        'promote',
        '--service',
        'payment-gateway',
        '--from',
        'dev',
        '--to',
        'dev',
      );
      expect(r.code).toBe(2);
      expect(server.requests).toHaveLength(0);
    });

    it('is a no-op with exit 0 when the target already runs it', async () => {
      const r = await run(
        'promote',
        '--service',
        'payment-gateway',
        '--from',
        'dev',
        '--to',
        'prod',
      );
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        `payment-gateway: ${ARTIFACT_ID} already runs in prod, nothing to do\n`,
      );
    });
  });

  describe('rollback', () => {
    it('rolls back to the previous artifact without --artifact', async () => {
      const r = await run(
        'rollback',
        '--service',
        'payment-gateway',
        '--env',
        'prod',
      );
      expect(r.code).toBe(0);
      expect(server.last).toMatchObject({
        method: 'POST',
        path: '/api/release-manager/rollbacks',
      });
      expect(server.last.body).toEqual({
        service: 'payment-gateway',
        environment: 'prod',
      });
      expect(r.stdout.split('\n')[0]).toBe(
        `payment-gateway: rolled prod back to ${OLD_ARTIFACT_ID}`,
      );
    });

    it('rolls back to a given artifact', async () => {
      await run(
        'rollback',
        '--service',
        'payment-gateway',
        '--env',
        'prod',
        '--artifact',
        OLD_ARTIFACT_ID,
        '--reason',
        'errors',
      );
      expect(server.last.body).toEqual({
        service: 'payment-gateway',
        environment: 'prod',
        artifactId: OLD_ARTIFACT_ID,
        reason: 'errors',
      });
    });

    it('exits 3 when the artifact is unknown', async () => {
      const r = await run(
        'rollback',
        '--service',
        'payment-gateway',
        '--env',
        'prod',
        '--artifact',
        'master-nope',
      );
      expect(r.code).toBe(3);
      expect(r.stderr).toBe(
        "release-manager: not found: Artifact 'master-nope' not found for payment-gateway (HTTP 404)\n",
      );
    });
  });

  describe('status', () => {
    it('prints an aligned table of what runs where', async () => {
      const r = await run('status', '--service', 'payment-gateway');
      expect(r.code).toBe(0);
      expect(server.last).toMatchObject({
        method: 'GET',
        path: '/api/release-manager/services/payment-gateway/status',
      });
      expect(r.stdout).toBe(
        [
          'payment-gateway',
          'ENVIRONMENT        ARTIFACT                      BRANCH  RELEASED BY        RELEASED              ROLLOUT',
          `dev                ${ARTIFACT_ID}  master  user:default/jane  2024-05-02 08:00 UTC  succeeded 3/3`,
          'staging            -                             -       -                  -                     nothing released',
          `prod (production)  ${ARTIFACT_ID}  master  user:default/jane  2024-05-02 08:00 UTC  succeeded 3/3`,
          '',
        ].join('\n'),
      );
    });

    it('prints the raw status with --json', async () => {
      const r = await run('status', '--service', 'payment-gateway', '--json');
      const body = JSON.parse(r.stdout);
      expect(body.map((s: any) => s.environment)).toEqual([
        'dev',
        'staging',
        'prod',
      ]);
      expect(body[0].release.artifactId).toBe(ARTIFACT_ID);
    });

    it('exits 3 for an unknown service', async () => {
      const r = await run('status', '--service', 'nope');
      expect(r.code).toBe(3);
      expect(r.stderr).toContain("not found: Service 'nope' not found");
    });
  });

  describe('the describe command', () => {
    it('describes the release running in an environment', async () => {
      const r = await run(
        'describe',
        'release',
        '--service',
        'payment-gateway',
        '--env',
        'prod',
      );
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Artifact:       ${ARTIFACT_ID}\n`);
      expect(r.stdout).toContain('Environment:    prod (production)\n');
      expect(r.stdout).toContain('Released by:    user:default/jane\n');
      expect(r.stdout).toContain(
        'Commit:         1a2b3c4 Add card tokenisation\n',
      );
      expect(r.stdout).toContain('Rollout:        succeeded 3/3\n');
    });

    it('exits 3 when nothing runs in the environment', async () => {
      const r = await run(
        'describe',
        'release',
        '--service',
        'payment-gateway',
        '--env',
        'staging',
      );
      expect(r.code).toBe(3);
      expect(r.stderr).toBe(
        'release-manager: payment-gateway: nothing has been released to staging yet\n',
      );
    });

    it('exits 3 for an environment that is not configured', async () => {
      const r = await run(
        'describe',
        'release',
        '--service',
        'payment-gateway',
        '--env',
        'qa',
      );
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(
        "environment 'qa' is not configured (known: dev, staging, prod)",
      );
    });

    it('describes an artifact', async () => {
      const r = await run(
        'describe',
        'artifact',
        '--service',
        'payment-gateway',
        '--artifact',
        FEATURE_ARTIFACT_ID,
      );
      expect(r.code).toBe(0);
      expect(server.last.path).toBe(
        `/api/release-manager/services/payment-gateway/artifacts/${FEATURE_ARTIFACT_ID}`,
      );
      expect(r.stdout).toContain('Branch:        feature-login\n');
      expect(r.stdout).toContain('Environments:  dev, staging, prod\n');
      const json = await run(
        'describe',
        'artifact',
        '--service',
        'payment-gateway',
        '--artifact',
        FEATURE_ARTIFACT_ID,
        '--json',
      );
      expect(JSON.parse(json.stdout).id).toBe(FEATURE_ARTIFACT_ID);
    });
  });

  describe('policy', () => {
    it('lists policies as a table', async () => {
      const r = await run('policy', 'list', '--service', 'payment-gateway');
      expect(r.code).toBe(0);
      expect(server.last).toMatchObject({
        method: 'GET',
        path: '/api/release-manager/services/payment-gateway/policies',
      });
      expect(r.stdout).toBe(
        [
          'payment-gateway: 2 policies',
          'ID               TYPE                ENVIRONMENT  RULE',
          'auto-dev-master  auto-release        dev          branch master',
          'restrict-prod    branch-restriction  prod         branches matching ^(master|main)$',
          '',
        ].join('\n'),
      );
    });

    it('applies an auto-release policy', async () => {
      const r = await run(
        'policy',
        'apply',
        'auto-release',
        '--service',
        'payment-gateway',
        '--branch',
        'master',
        '--env',
        'staging',
      );
      expect(r.code).toBe(0);
      expect(server.last).toMatchObject({
        method: 'PUT',
        path: '/api/release-manager/services/payment-gateway/policies/auto-releases',
        body: { branch: 'master', environment: 'staging' },
      });
      expect(r.stdout.split('\n')[0]).toBe(
        'payment-gateway: artifacts from branch master will be released to staging automatically',
      );
    });

    it('exits 5 when the server reports a conflicting policy', async () => {
      const r = await run(
        'policy',
        'apply',
        'auto-release',
        '--service',
        'payment-gateway',
        '--branch',
        'develop',
        '--env',
        'dev',
      );
      expect(r.code).toBe(5);
      expect(r.stderr).toBe(
        'release-manager: conflict: an auto-release to dev already exists (HTTP 409)\n',
      );
    });

    it('applies a branch restriction and checks the regex locally', async () => {
      const r = await run(
        'policy',
        'apply',
        'branch-restriction',
        '--service',
        'payment-gateway',
        '--regex',
        '^release/.*$',
        '--env',
        'staging',
      );
      expect(r.code).toBe(0);
      expect(server.last).toMatchObject({
        method: 'PUT',
        path: '/api/release-manager/services/payment-gateway/policies/branch-restrictions',
        body: { branchRegex: '^release/.*$', environment: 'staging' },
      });
      const bad = await run(
        'policy',
        'apply',
        'branch-restriction',
        '--service',
        'payment-gateway',
        '--regex',
        '^(master',
        '--env',
        'prod',
      );
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(
        "--regex '^(master' is not a valid regular expression",
      );
      expect(server.requests).toHaveLength(1);
    });

    it('deletes a policy by id', async () => {
      const r = await run(
        'policy',
        'delete',
        '--service',
        'payment-gateway',
        '--id',
        'restrict-prod',
        '--json',
      );
      expect(r.code).toBe(0);
      expect(server.last).toMatchObject({
        method: 'DELETE',
        path: '/api/release-manager/services/payment-gateway/policies/restrict-prod',
      });
      expect(JSON.parse(r.stdout).branchRestrictions).toEqual([]);
      const missing = await run(
        'policy',
        'delete',
        '--service',
        'payment-gateway',
        '--id',
        'restrict-prod',
      );
      expect(missing.code).toBe(3);
      const bad = await run(
        'policy',
        'delete',
        '--service',
        'payment-gateway',
        '--id',
        '../x',
      );
      expect(bad.code).toBe(2);
      expect(server.requests).toHaveLength(2);
    });
  });

  describe('artifacts and environments', () => {
    it('lists artifacts filtered by branch, with paging', async () => {
      const r = await run(
        'artifacts',
        '--service',
        'payment-gateway',
        '--branch',
        'feature-login',
        '--limit',
        '1',
      );
      expect(r.code).toBe(0);
      expect(server.last).toMatchObject({
        method: 'GET',
        path: '/api/release-manager/services/payment-gateway/artifacts',
        query: { branch: 'feature-login', limit: '1' },
      });
      expect(r.stdout).toBe(
        [
          'ARTIFACT                             BRANCH         COMMIT   AUTHOR            CREATED               ENVIRONMENTS',
          `${FEATURE_ARTIFACT_ID}  feature-login  9f8e7d6  jane@example.com  2024-05-01 10:22 UTC  dev,staging,prod`,
          'more: --cursor c2',
          '',
        ].join('\n'),
      );
    });

    it('says so when there are no artifacts', async () => {
      const r = await run(
        'artifacts',
        '--service',
        'payment-gateway',
        '--branch',
        'none',
      );
      expect(r.stdout).toBe('payment-gateway: no artifacts from branch none\n');
      const bad = await run(
        'artifacts',
        '--service',
        'payment-gateway',
        '--limit',
        'lots',
      );
      expect(bad.code).toBe(2);
    });

    it('lists environments in their order', async () => {
      const r = await run('environments');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        [
          'ENVIRONMENT  PRODUCTION',
          'dev          no',
          'staging      no',
          'prod         yes',
          '',
        ].join('\n'),
      );
      const json = await run('environments', '--json');
      expect(JSON.parse(json.stdout)).toHaveLength(3);
    });
  });
});
