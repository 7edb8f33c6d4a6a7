import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ARTIFACT_ID, StandIn, cli, errorBody } from './__testUtils__/standIn';
import { exitCodeFor } from './client';

const releaseArgs = [
  'release',
  '--service',
  'payment-gateway',
  '--env',
  'prod',
  '--artifact',
  ARTIFACT_ID,
];

describe('exit codes', () => {
  let server: StandIn;
  beforeEach(async () => {
    server = await new StandIn().start();
  });
  afterEach(() => server.stop());

  it.each([
    [
      400,
      'InputError',
      'environment is invalid',
      2,
      'the server rejected the request: environment is invalid (HTTP 400)',
    ],
    [
      401,
      'AuthenticationError',
      'Missing credentials',
      4,
      'not signed in (run release-manager login, or pass --token / set RELEASE_MANAGER_TOKEN): Missing credentials (HTTP 401)',
    ],
    [
      403,
      'NotAllowedError',
      'Unauthorized',
      4,
      'refused: Unauthorized (HTTP 403)',
    ],
    [
      404,
      'NotFoundError',
      'Service not found',
      3,
      'not found: Service not found (HTTP 404)',
    ],
    [
      409,
      'ConflictError',
      'The config repo changed meanwhile',
      5,
      'conflict: The config repo changed meanwhile (HTTP 409)',
    ],
    [
      409,
      'ConflictError',
      "branch restriction: 'feature-x' may not reach prod",
      4,
      "refused: branch restriction: 'feature-x' may not reach prod (HTTP 409)",
    ],
    [
      500,
      'Error',
      'database is down',
      1,
      'the release manager failed: database is down (HTTP 500)',
    ],
  ])('HTTP %i %s → exit %#', async (status, name, message, code, words) => {
    server.replyOnce({ status, body: errorBody(name, message, status) });
    const r = await cli(releaseArgs, { url: server.url });
    expect(r.code).toBe(code);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`release-manager: ${words}\n`);
  });

  it('prints the server error body and the exit code on stdout with --json', async () => {
    server.replyOnce({
      status: 403,
      body: errorBody('NotAllowedError', 'nope', 403),
    });
    const r = await cli(['--json', ...releaseArgs], { url: server.url });
    expect(r.code).toBe(4);
    expect(JSON.parse(r.stdout)).toMatchObject({
      error: { name: 'NotAllowedError', message: 'nope' },
      exitCode: 4,
    });
  });

  it('exits 1 on a non-JSON error page (e.g. a proxy)', async () => {
    server.replyOnce({ status: 502, text: '<html>Bad Gateway</html>' });
    const r = await cli(releaseArgs, { url: server.url });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'release-manager: the release manager failed: POST /api/release-manager/releases answered 502 Bad Gateway (HTTP 502)\n',
    );
  });

  it('exits 1 when a success is not JSON (wrong --url)', async () => {
    server.replyOnce({ status: 200, text: '<html>portal</html>' });
    const r = await cli(['environments'], { url: server.url });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is --url pointing at /api/release-manager?');
  });

  it('exits 6 when the server is unreachable', async () => {
    const closed = http.createServer();
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise(resolve => closed.close(resolve));
    const r = await cli(['environments'], {
      url: `http://127.0.0.1:${port}/api/release-manager`,
    });
    expect(r.code).toBe(6);
    expect(r.stderr).toBe(
      `release-manager: cannot reach the release manager at http://127.0.0.1:${port}/api/release-manager (ECONNREFUSED); is the backend running? Set --url or RELEASE_MANAGER_URL.\n`,
    );
  });

  it.each([
    [
      ['release', '--service', 'payment-gateway', '--env', 'prod'],
      'give exactly one of --artifact <id>, --branch <branch> or --current-branch',
    ],
    [['frobnicate'], "unknown command 'frobnicate'"],
    [
      [
        'release',
        '--service',
        '../etc',
        '--env',
        'prod',
        '--artifact',
        ARTIFACT_ID,
      ],
      "service '../etc' is invalid",
    ],
    [
      [
        'release',
        '--service',
        'payment-gateway',
        '--env',
        'Prod',
        '--artifact',
        ARTIFACT_ID,
      ],
      "environment 'Prod' is invalid",
    ],
    [
      [
        'release',
        '--service',
        'payment-gateway',
        '--env',
        'prod',
        '--artifact',
        '../../x',
      ],
      "artifact id '../../x' is invalid",
    ],
    [
      [
        'rollback',
        '--service',
        'payment-gateway',
        '--env',
        'prod',
        '--artifact',
        'a/b',
      ],
      "artifact id 'a/b' is invalid",
    ],
    [
      [
        'describe',
        'artifact',
        '--service',
        'payment-gateway',
        '--artifact',
        'x..y',
      ],
      "artifact id 'x..y' is invalid",
    ],
    [
      ['status', '--service', 'payment-gateway', '--bogus'],
      "unknown option '--bogus'",
    ],
  ])('usage error %j → exit 2 without a request', async (argv, words) => {
    const r = await cli(argv, { url: server.url });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(words);
    expect(server.requests).toHaveLength(0);
  });

  it('exits 0 for --help', async () => {
    const r = await cli(['release', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--artifact <id>');
  });

  it('maps statuses without a server', () => {
    expect(exitCodeFor(413)).toBe(2);
    expect(exitCodeFor(409, 'x', 'NotAllowedError')).toBe(4);
    expect(exitCodeFor(503)).toBe(1);
    expect(exitCodeFor(410, 'approval request x expired')).toBe(5);
  });
});
