import {
  ARTIFACT_ID,
  OLD_ARTIFACT_ID,
  StandIn,
  cli,
} from './__testUtils__/standIn';
import { FROZEN_HINT, exitCodeFor } from './client';

const frozenWords =
  'prod is frozen for payment-gateway: incident INC-42 ("Card payments failing") is open; ' +
  'pass overrideFreeze with a reason to release anyway';

const commands: Array<{
  name: string;
  argv: string[];
  body: Record<string, unknown>;
  path: string;
}> = [
  {
    name: 'release',
    argv: [
      'release',
      '--service',
      'payment-gateway',
      '--env',
      'prod',
      '--artifact',
      ARTIFACT_ID,
    ],
    path: '/api/release-manager/releases',
    body: {
      service: 'payment-gateway',
      environment: 'prod',
      artifactId: ARTIFACT_ID,
    },
  },
  {
    name: 'promote',
    argv: [
      'promote',
      '--service',
      'payment-gateway',
      '--from',
      'dev',
      '--to',
      'prod',
    ],
    path: '/api/release-manager/promotions',
    body: {
      service: 'payment-gateway',
      fromEnvironment: 'dev',
      toEnvironment: 'prod',
    },
  },
  {
    name: 'rollback',
    argv: ['rollback', '--service', 'payment-gateway', '--env', 'prod', '--previous'],
    path: '/api/release-manager/rollbacks',
    body: { service: 'payment-gateway', environment: 'prod' },
  },
];

describe('production freeze', () => {
  let server: StandIn;
  beforeEach(async () => {
    server = await new StandIn().start();
    server.frozenBy = { incident: 'INC-42', title: 'Card payments failing' };
    // dev runs ARTIFACT_ID, prod the older one: release and promote change prod.
    server.running.prod = OLD_ARTIFACT_ID;
    server.running.dev = ARTIFACT_ID;
  });
  afterEach(() => server.stop());

  describe.each(commands)('$name', ({ argv, body, path }) => {
    beforeEach(() => {
      // rollback returns to OLD_ARTIFACT_ID by default: prod runs the new one for it.
      if (argv[0] === 'rollback') server.running.prod = ARTIFACT_ID;
    });

    it('prints the refusal with a hint and exits 4 (refused); nothing changes', async () => {
      const before = server.running.prod;
      const r = await cli(argv, { url: server.url });
      expect(r).toEqual({
        code: 4,
        stdout: '',
        stderr: `release-manager: refused: ${frozenWords} (HTTP 409)\n${FROZEN_HINT}\n`,
      });
      expect(r.stderr).toContain('--override-freeze "<reason>"');
      expect(server.requests).toHaveLength(1);
      expect(server.last.body).toEqual(body);
      expect(server.running.prod).toBe(before);
    });

    it('sends overrideFreeze with --override-freeze and says the freeze was overridden', async () => {
      const r = await cli(
        [...argv, '--override-freeze', '  the fix for INC-42 '],
        { url: server.url },
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(server.requests).toHaveLength(1);
      expect(server.last).toMatchObject({ method: 'POST', path });
      expect(server.last.body).toEqual({
        ...body,
        overrideFreeze: { reason: 'the fix for INC-42' },
      });
      expect(r.stdout).toMatch(
        /\n {2}production freeze overridden: the fix for INC-42\n$/,
      );
    });

    it.each([
      ['', 'a reason is required to override a production freeze'],
      ['   ', 'a reason is required to override a production freeze'],
      [
        'x'.repeat(501),
        'the freeze override reason is too long: at most 500 characters',
      ],
    ])(
      'refuses --override-freeze %j before sending (exit 2)',
      async (reason, words) => {
        const r = await cli([...argv, '--override-freeze', reason], {
          url: server.url,
        });
        expect(r.code).toBe(2);
        expect(r.stderr).toBe(`release-manager: --override-freeze: ${words}\n`);
        expect(server.requests).toHaveLength(0);
      },
    );

    it('documents --override-freeze in its help', async () => {
      const r = await cli([argv[0], '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('--override-freeze <reason>');
    });
  });

  it('prints the error body and exit code 4 on stdout with --json, the hint on stderr', async () => {
    const r = await cli(['--json', ...commands[0].argv], { url: server.url });
    expect(r.code).toBe(4);
    expect(JSON.parse(r.stdout)).toMatchObject({
      error: { name: 'ProductionFrozenError', message: frozenWords },
      exitCode: 4,
    });
    expect(r.stderr).toContain(FROZEN_HINT);
  });

  it('says nothing about a freeze when the override was not needed', async () => {
    server.frozenBy = undefined;
    const r = await cli(
      [...commands[0].argv, '--override-freeze', 'just in case'],
      { url: server.url },
    );
    expect(r.code).toBe(0);
    expect(server.last.body).toMatchObject({
      overrideFreeze: { reason: 'just in case' },
    });
    expect(r.stdout).not.toContain('freeze');
  });

  it('does not freeze other environments', async () => {
    const r = await cli(
      [
        'release',
        '--service',
        'payment-gateway',
        '--env',
        'staging',
        '--artifact',
        ARTIFACT_ID,
      ],
      { url: server.url },
    );
    expect(r.code).toBe(0);
  });

  it('maps a frozen 409 to refused (4), other 409s stay conflicts (5)', () => {
    expect(exitCodeFor(409, frozenWords, 'ProductionFrozenError')).toBe(4);
    expect(exitCodeFor(409, 'the config repo changed', 'ConflictError')).toBe(
      5,
    );
  });
});
