import {
  ARTIFACT_ID,
  FEATURE_ARTIFACT_ID,
  OLD_ARTIFACT_ID,
  RunResult,
  StandIn,
  cli,
} from './__testUtils__/standIn';

/** Matches text whose first line is exactly `line`. */
const firstLine = (line: string) =>
  expect.stringMatching(
    new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\n|$)`),
  );

/**
 * One CLI run: `line` is split on spaces; `expected` is matched against the
 * result, the number of requests the server saw and the last of them; `then`
 * holds further checks.
 */
interface Case {
  title: string;
  line: string;
  expected: Record<string, unknown>;
  then?: (r: RunResult) => void | Promise<void>;
}

describe('release-manager commands against the REST contract', () => {
  let server: StandIn;
  const run = (line: string) => cli(line.split(' '), { url: server.url });

  beforeEach(async () => {
    server = await new StandIn().start();
  });
  afterEach(() => server.stop());

  const runCase = async ({ line, expected, then = () => {} }: Case) => {
    const r = await run(line);
    expect({
      ...r,
      requests: server.requests.length,
      last: server.last,
    }).toMatchObject(expected);
    await then(r);
  };

  describe('release', () => {
    it.each<Case>([
      {
        title: 'posts a release and says what changed',
        line: `release --service payment-gateway --env staging --artifact ${ARTIFACT_ID} --reason hotfix`,
        expected: {
          code: 0,
          stderr: '',
          requests: 1,
          last: {
            method: 'POST',
            path: '/api/release-manager/releases',
            contentType: 'application/json',
            authorization: undefined,
            body: {
              service: 'payment-gateway',
              environment: 'staging',
              artifactId: ARTIFACT_ID,
              reason: 'hotfix',
            },
          },
          stdout:
            `payment-gateway: released ${ARTIFACT_ID} to staging\n` +
            `  commit c0ffee1 by user:default/jane: [staging/payment-gateway] release ${ARTIFACT_ID} by jane@example.com\n`,
        },
      },
      {
        title:
          'says nothing to do and exits 0 when the artifact already runs there',
        line: `release --service payment-gateway --env prod --artifact ${ARTIFACT_ID}`,
        expected: {
          code: 0,
          stdout: `payment-gateway: ${ARTIFACT_ID} already runs in prod, nothing to do\n`,
        },
      },
      {
        title: 'prints the raw response with --json',
        line: `release --json --service payment-gateway --env prod --artifact ${ARTIFACT_ID}`,
        expected: { code: 0 },
        then: r =>
          expect(JSON.parse(r.stdout)).toEqual({
            changed: false,
            message: `${ARTIFACT_ID} already runs in prod`,
          }),
      },
      {
        title:
          'refuses a feature branch in prod with exit 4 and the server message in plain words',
        line: `release --service payment-gateway --env prod --artifact ${FEATURE_ARTIFACT_ID}`,
        expected: {
          code: 4,
          stdout: '',
          stderr:
            "release-manager: refused: branch restriction: branch 'feature-login' is not allowed to reach prod (only ^(master|main)$) (HTTP 403)\n",
        },
      },
    ])('$title', runCase);

    it('sends the token from --token or RELEASE_MANAGER_TOKEN as a bearer token', async () => {
      const release = `release --service payment-gateway --env dev --artifact ${ARTIFACT_ID}`;
      await run(`--token flag-token ${release}`);
      expect(server.last.authorization).toBe('Bearer flag-token');
      await cli(release.split(' '), {
        env: {
          RELEASE_MANAGER_URL: server.url,
          RELEASE_MANAGER_TOKEN: 'env-token',
        },
      });
      expect(server.last.authorization).toBe('Bearer env-token');
    });

    it('takes the server from --url over RELEASE_MANAGER_URL', async () => {
      const r = await cli(['--url', `${server.url}/`, 'environments'], {
        env: { RELEASE_MANAGER_URL: 'http://127.0.0.1:1/nowhere' },
      });
      expect(r.code).toBe(0);
      expect(server.last.path).toBe('/api/release-manager/environments');
    });
  });

  describe('promote', () => {
    it.each<Case>([
      {
        title: 'posts a promotion and reports the artifact',
        line: 'promote --service payment-gateway --from dev --to staging --reason green',
        expected: {
          code: 0,
          last: {
            method: 'POST',
            path: '/api/release-manager/promotions',
            body: {
              service: 'payment-gateway',
              fromEnvironment: 'dev',
              toEnvironment: 'staging',
              reason: 'green',
            },
          },
          stdout: expect.stringMatching(
            new RegExp(
              `^payment-gateway: ${ARTIFACT_ID} promoted from dev to staging\n  commit c0ffee1 `,
            ),
          ),
        },
      },
      {
        title: 'rejects promoting an environment onto itself before sending',
        line: 'promote --service payment-gateway --from dev --to dev',
        expected: { code: 2, requests: 0 },
      },
      {
        title: 'is a no-op with exit 0 when the target already runs it',
        line: 'promote --service payment-gateway --from dev --to prod',
        expected: {
          code: 0,
          stdout: `payment-gateway: ${ARTIFACT_ID} already runs in prod, nothing to do\n`,
        },
      },
    ])('$title', runCase);
  });

  describe('rollback', () => {
    it.each<Case>([
      {
        title: 'rolls back to the previous artifact with --previous',
        line: 'rollback --service payment-gateway --env prod --previous',
        expected: {
          code: 0,
          last: { method: 'POST', path: '/api/release-manager/rollbacks' },
          stdout: firstLine(
            `payment-gateway: rolled prod back to ${OLD_ARTIFACT_ID}`,
          ),
        },
        then: () =>
          expect(server.last.body).toEqual({
            service: 'payment-gateway',
            environment: 'prod',
          }),
      },
      {
        title: 'rolls back to a given artifact',
        line: `rollback --service payment-gateway --env prod --artifact ${OLD_ARTIFACT_ID} --reason errors`,
        expected: {},
        then: () =>
          expect(server.last.body).toEqual({
            service: 'payment-gateway',
            environment: 'prod',
            artifactId: OLD_ARTIFACT_ID,
            reason: 'errors',
          }),
      },
      {
        title: 'exits 3 when the artifact is unknown',
        line: 'rollback --service payment-gateway --env prod --artifact master-nope',
        expected: {
          code: 3,
          stderr:
            "release-manager: not found: Artifact 'master-nope' not found for payment-gateway (HTTP 404)\n",
        },
      },
    ])('$title', runCase);
  });

  describe('status', () => {
    it.each<Case>([
      {
        title: 'prints an aligned table of what runs where',
        line: 'status --service payment-gateway',
        expected: {
          code: 0,
          last: {
            method: 'GET',
            path: '/api/release-manager/services/payment-gateway/status',
          },
          stdout: [
            'payment-gateway',
            'ENVIRONMENT        ARTIFACT                      BRANCH  RELEASED BY        RELEASED              ROLLOUT',
            `dev                ${ARTIFACT_ID}  master  user:default/jane  2024-05-02 08:00 UTC  succeeded 3/3`,
            'staging            -                             -       -                  -                     nothing released',
            `prod (production)  ${ARTIFACT_ID}  master  user:default/jane  2024-05-02 08:00 UTC  succeeded 3/3`,
            '',
          ].join('\n'),
        },
      },
      {
        title: 'prints the raw status with --json',
        line: 'status --service payment-gateway --json',
        expected: {},
        then: r => {
          const body = JSON.parse(r.stdout);
          expect(body.map((s: any) => s.environment)).toEqual([
            'dev',
            'staging',
            'prod',
          ]);
          expect(body[0].release.artifactId).toBe(ARTIFACT_ID);
        },
      },
      {
        title: 'exits 3 for an unknown service',
        line: 'status --service nope',
        expected: {
          code: 3,
          stderr: expect.stringContaining(
            "not found: Service 'nope' not found",
          ),
        },
      },
    ])('$title', runCase);
  });

  describe('the describe command', () => {
    it.each<Case>([
      {
        title: 'describes the release running in an environment',
        line: 'describe release --service payment-gateway --env prod',
        expected: { code: 0 },
        then: r => {
          expect(r.stdout).toContain(`Artifact:       ${ARTIFACT_ID}\n`);
          expect(r.stdout).toContain('Environment:    prod (production)\n');
          expect(r.stdout).toContain('Released by:    user:default/jane\n');
          expect(r.stdout).toContain(
            'Commit:         1a2b3c4 Add card tokenisation\n',
          );
          expect(r.stdout).toContain('Rollout:        succeeded 3/3\n');
        },
      },
      {
        title: 'exits 3 when nothing runs in the environment',
        line: 'describe release --service payment-gateway --env staging',
        expected: {
          code: 3,
          stderr:
            'release-manager: payment-gateway: nothing has been released to staging yet\n',
        },
      },
      {
        title: 'exits 3 for an environment that is not configured',
        line: 'describe release --service payment-gateway --env qa',
        expected: {
          code: 3,
          stderr: expect.stringContaining(
            "environment 'qa' is not configured (known: dev, staging, prod)",
          ),
        },
      },
      {
        title: 'describes an artifact',
        line: `describe artifact --service payment-gateway --artifact ${FEATURE_ARTIFACT_ID}`,
        expected: {
          code: 0,
          last: {
            path: `/api/release-manager/services/payment-gateway/artifacts/${FEATURE_ARTIFACT_ID}`,
          },
        },
        then: async r => {
          expect(r.stdout).toContain('Branch:        feature-login\n');
          expect(r.stdout).toContain('Environments:  dev, staging, prod\n');
          const json = await run(
            `describe artifact --service payment-gateway --artifact ${FEATURE_ARTIFACT_ID} --json`,
          );
          expect(JSON.parse(json.stdout).id).toBe(FEATURE_ARTIFACT_ID);
        },
      },
    ])('$title', runCase);
  });

  describe('policy', () => {
    it.each<Case>([
      {
        title: 'lists policies as a table',
        line: 'policy list --service payment-gateway',
        expected: {
          code: 0,
          last: {
            method: 'GET',
            path: '/api/release-manager/services/payment-gateway/policies',
          },
          stdout: [
            'payment-gateway: 2 policies',
            'ID               TYPE                ENVIRONMENT  RULE',
            'auto-dev-master  auto-release        dev          branch master',
            'restrict-prod    branch-restriction  prod         branches matching ^(master|main)$',
            '',
          ].join('\n'),
        },
      },
      {
        title: 'applies an auto-release policy',
        line: 'policy apply auto-release --service payment-gateway --branch master --env staging',
        expected: {
          code: 0,
          last: {
            method: 'PUT',
            path: '/api/release-manager/services/payment-gateway/policies/auto-releases',
            body: { branch: 'master', environment: 'staging' },
          },
          stdout: firstLine(
            'payment-gateway: artifacts from branch master will be released to staging automatically',
          ),
        },
      },
      {
        title: 'exits 5 when the server reports a conflicting policy',
        line: 'policy apply auto-release --service payment-gateway --branch develop --env dev',
        expected: {
          code: 5,
          stderr:
            'release-manager: conflict: an auto-release to dev already exists (HTTP 409)\n',
        },
      },
      {
        title: 'applies a branch restriction and checks the regex locally',
        line: 'policy apply branch-restriction --service payment-gateway --regex ^release/.*$ --env staging',
        expected: {
          code: 0,
          last: {
            method: 'PUT',
            path: '/api/release-manager/services/payment-gateway/policies/branch-restrictions',
            body: { branchRegex: '^release/.*$', environment: 'staging' },
          },
        },
        then: async () => {
          const bad = await run(
            'policy apply branch-restriction --service payment-gateway --regex ^(master --env prod',
          );
          expect(bad.code).toBe(2);
          expect(bad.stderr).toContain(
            "--regex '^(master' is not a valid regular expression",
          );
          expect(server.requests).toHaveLength(1);
        },
      },
      {
        title: 'deletes a policy by id',
        line: 'policy delete --service payment-gateway --id restrict-prod --json',
        expected: {
          code: 0,
          last: {
            method: 'DELETE',
            path: '/api/release-manager/services/payment-gateway/policies/restrict-prod',
          },
        },
        then: async r => {
          expect(JSON.parse(r.stdout).branchRestrictions).toEqual([]);
          const missing = await run(
            'policy delete --service payment-gateway --id restrict-prod',
          );
          expect(missing.code).toBe(3);
          const bad = await run(
            'policy delete --service payment-gateway --id ../x',
          );
          expect(bad.code).toBe(2);
          expect(server.requests).toHaveLength(2);
        },
      },
    ])('$title', runCase);
  });

  describe('artifacts and environments', () => {
    it.each<Case>([
      {
        title: 'lists artifacts filtered by branch, with paging',
        line: 'artifacts --service payment-gateway --branch feature-login --limit 1',
        expected: {
          code: 0,
          last: {
            method: 'GET',
            path: '/api/release-manager/services/payment-gateway/artifacts',
            query: { branch: 'feature-login', limit: '1' },
          },
          stdout: [
            'ARTIFACT                             BRANCH         COMMIT   AUTHOR            CREATED               ENVIRONMENTS',
            `${FEATURE_ARTIFACT_ID}  feature-login  9f8e7d6  jane@example.com  2024-05-01 10:22 UTC  dev,staging,prod`,
            'more: --cursor c2',
            '',
          ].join('\n'),
        },
      },
      {
        title: 'says so when there are no artifacts',
        line: 'artifacts --service payment-gateway --branch none',
        expected: {
          stdout: 'payment-gateway: no artifacts from branch none\n',
        },
        then: async () => {
          const bad = await run(
            'artifacts --service payment-gateway --limit lots',
          );
          expect(bad.code).toBe(2);
        },
      },
      {
        title: 'lists environments in their order',
        line: 'environments',
        expected: {
          code: 0,
          stdout: [
            'ENVIRONMENT  PRODUCTION',
            'dev          no',
            'staging      no',
            'prod         yes',
            '',
          ].join('\n'),
        },
        then: async () => {
          const json = await run('environments --json');
          expect(JSON.parse(json.stdout)).toHaveLength(3);
        },
      },
    ])('$title', runCase);
  });
});
