import path from 'node:path';
import { StandIn, cli, tempTree } from './__testUtils__/standIn';
import { LIMITS, specProblems } from './spec';

const spec = {
  id: 'master-abcdef1234-0123456789',
  service: 'payment-gateway',
  namespace: 'payments',
  squad: 'payments',
  application: {
    branch: 'master',
    sha: 'abcdef1234abcdef1234abcdef1234abcdef1234',
    authorName: 'Jane Doe',
    authorEmail: 'jane@example.com',
    message: 'Add card tokenisation',
    name: 'payment-gateway',
    provider: 'local',
  },
  ci: {
    jobUrl: 'https://ci.example.com/jobs/42',
    start: '2024-05-01T10:00:00Z',
    end: '2024-05-01T10:05:00Z',
  },
  stages: [
    { id: 'build', name: 'Build', data: { image: 'payment-gateway:abc' } },
  ],
};
const deployment =
  'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: payment-gateway\n';
const service =
  'apiVersion: v1\nkind: Service\nmetadata:\n  name: payment-gateway\n';

function project(
  overrides: Record<string, string> = {},
  specValue: unknown = spec,
) {
  return tempTree({
    'artifact.json': JSON.stringify(specValue),
    'k8s/dev/deployment.yaml': deployment,
    'k8s/dev/service.yaml': service,
    'k8s/prod/deployment.yaml': deployment,
    'k8s/prod/README.md': 'ignored',
    ...overrides,
  });
}

describe('artifact push', () => {
  let server: StandIn;
  const push = (cwd: string, ...extra: string[]) =>
    cli(
      [
        'artifact',
        'push',
        '--spec',
        'artifact.json',
        '--manifests',
        'k8s',
        ...extra,
      ],
      { url: server.url, cwd },
    );

  beforeEach(async () => {
    server = await new StandIn().start();
  });
  afterEach(() => server.stop());

  it('uploads the spec and manifests per environment and reports auto-releases', async () => {
    const r = await cli(
      [
        '--token',
        'ci-token',
        'artifact',
        'push',
        '--spec',
        'artifact.json',
        '--manifests',
        'k8s',
      ],
      { url: server.url, cwd: project() },
    );
    expect(r.code).toBe(0);
    expect(server.requests).toHaveLength(1);
    expect(server.last).toMatchObject({
      method: 'POST',
      path: '/api/release-manager/artifacts',
      authorization: 'Bearer ci-token',
      contentType: 'application/json',
    });
    expect(server.last.body).toEqual({
      spec,
      manifests: {
        dev: { 'deployment.yaml': deployment, 'service.yaml': service },
        prod: { 'deployment.yaml': deployment },
      },
    });
    expect(r.stdout).toBe(
      'payment-gateway: pushed artifact master-abcdef1234-0123456789 with manifests for dev, prod\n' +
        'payment-gateway: auto-released master-abcdef1234-0123456789 to dev\n' +
        '  commit c0ffee1 by user:default/jane: [dev/payment-gateway] release master-abcdef1234-0123456789 by jane@example.com\n',
    );
  });

  it('prints the 201 body with --json', async () => {
    const r = await push(project(), '--json');
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(body.artifact.id).toBe(spec.id);
    expect(body.autoReleases).toHaveLength(1);
  });

  it('validates without sending on --dry-run', async () => {
    const r = await push(project(), '--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'payment-gateway: master-abcdef1234-0123456789 is valid (dev: 2 files, prod: 1 files); nothing sent\n',
    );
    expect(server.requests).toHaveLength(0);
  });

  it.each<[string, Record<string, string>, unknown, string]>([
    [
      'a spec that is not JSON',
      { 'artifact.json': '{nope' },
      spec,
      'is not valid JSON',
    ],
    [
      'an unknown spec field',
      {},
      { ...spec, releasedBy: 'mallory' },
      "unknown field 'releasedBy'",
    ],
    [
      'a service that escapes a directory',
      {},
      { ...spec, service: '../etc' },
      "service '../etc' is invalid",
    ],
    [
      'a bad artifact id',
      {},
      { ...spec, id: 'a/../b' },
      "artifact id 'a/../b' is invalid",
    ],
    [
      'a missing application field',
      {},
      { ...spec, application: { ...spec.application, sha: undefined } },
      'application.sha is required',
    ],
    [
      'an environment dir with a bad name',
      { 'k8s/Prod..x/a.yaml': deployment },
      spec,
      "environment 'Prod..x' is invalid",
    ],
    [
      'broken YAML',
      { 'k8s/dev/bad.yaml': 'a: [1, 2\n' },
      spec,
      'bad.yaml is not valid YAML',
    ],
    [
      'a nested directory',
      { 'k8s/dev/sub/x.yaml': deployment },
      spec,
      'is a directory; manifests go directly in <dir>/<env>/*.yaml',
    ],
    [
      'an oversized manifest',
      { 'k8s/dev/big.yaml': `a: "${'x'.repeat(LIMITS.manifestBytes)}"\n` },
      spec,
      `the limit is ${LIMITS.manifestBytes}`,
    ],
    [
      'an oversized spec',
      {},
      {
        ...spec,
        stages: [
          { id: 'x', name: 'x', data: { pad: 'x'.repeat(LIMITS.specBytes) } },
        ],
      },
      `the limit is ${LIMITS.specBytes}`,
    ],
  ])(
    'rejects %s with exit 2 before any request',
    async (_what, files, specValue, words) => {
      const r = await push(project(files, specValue));
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(words);
      expect(server.requests).toHaveLength(0);
    },
  );

  it('rejects a missing spec file and an empty manifest directory', async () => {
    const dir = tempTree({
      'artifact.json': JSON.stringify(spec),
      'k8s/dev/notes.txt': 'x',
    });
    const empty = await push(dir);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain(
      `no manifests found: expected ${path.join(
        dir,
        'k8s',
        '<env>',
        '*.yaml',
      )}`,
    );
    const missing = await cli(
      ['artifact', 'push', '--spec', 'nope.json', '--manifests', 'k8s'],
      { url: server.url, cwd: dir },
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.json does not exist');
    expect(server.requests).toHaveLength(0);
  });

  it('lists every spec problem at once', () => {
    expect(specProblems({ id: '', service: 'X', application: {} })).toEqual([
      'artifact id is required',
      "service 'X' is invalid: use lowercase letters, digits and '-', at most 63 characters",
      'namespace is required',
      'application.branch is required (a non-empty string)',
      'application.sha is required (a non-empty string)',
      'application.authorName is required (a non-empty string)',
      'application.authorEmail is required (a non-empty string)',
      'application.message is required (a non-empty string)',
      'application.name is required (a non-empty string)',
    ]);
  });

  it('passes a server-side 400 through as exit 2', async () => {
    server.replyOnce({
      status: 400,
      body: {
        error: { name: 'InputError', message: "unknown environment 'prod'" },
        response: { statusCode: 400 },
      },
    });
    const r = await push(project());
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "release-manager: the server rejected the request: unknown environment 'prod' (HTTP 400)\n",
    );
  });
});
