import { InputError } from '@backstage/errors';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { createGoldenPathFixture, GoldenPathFixture } from '../testing/fixture';
import { recordingLogger } from '../testing/context';
import { serviceNameProblem } from '../lib/names';
import { createValidateAction } from './validate';

// Real git repositories on two shared cores: give each test room.
jest.setTimeout(60_000);

describe('devplane:golden-path:validate', () => {
  let fx: GoldenPathFixture;
  beforeAll(async () => {
    fx = await createGoldenPathFixture();
  });
  afterAll(() => fx.close());

  const run = async (input: Record<string, any>) => {
    const action = createValidateAction(fx.deps);
    const logger = recordingLogger();
    const ctx = createMockActionContext({
      input: input as any,
      logger,
      workspacePath: fx.workspace,
    });
    await action.handler(ctx as any);
    return { ctx, logger };
  };

  it('accepts a free name, an existing squad and system, and normalises refs to names', async () => {
    const { ctx } = await run({
      name: 'payment-api',
      squad: 'group:default/payments',
      system: 'system:default/banking-core',
      kind: 'node',
    });
    expect(ctx.output).toHaveBeenCalledWith('name', 'payment-api');
    expect(ctx.output).toHaveBeenCalledWith('squad', 'payments');
    expect(ctx.output).toHaveBeenCalledWith('system', 'banking-core');
  });

  it.each([
    ['Payment-API', /lowercase/],
    ['../etc', /not a path/],
    ['team/service', /not a path/],
    ['a\\b', /not a path/],
    ['.hidden', /not a path/],
    ['x'.repeat(64), /64 characters long/],
    ['-leading', /start and end/],
    ['under_score', /digits and '-' only/],
    ['', /required/],
    ['ledger', /already in the catalog/],
    ['config', /repository with that name exists/],
  ])(
    'rejects the name %j with a clear error and creates nothing',
    async (name, message) => {
      const before = await fx.gitHost.list();
      const requests = fx.standIn.requests.length;
      await expect(
        run({ name, squad: 'payments', kind: 'go' }),
      ).rejects.toThrow(message);
      await expect(
        run({ name, squad: 'payments', kind: 'go' }),
      ).rejects.toBeInstanceOf(InputError);
      expect(await fx.gitHost.list()).toEqual(before);
      expect(fx.standIn.requests.length).toBe(requests);
    },
  );

  it('rejects an unknown squad, a non-group squad ref and an unknown system, listing every problem', async () => {
    await expect(
      run({ name: 'fine-name', squad: 'group:default/nope', kind: 'go' }),
    ).rejects.toThrow("Squad 'nope' is not a Group in the catalog");
    await expect(
      run({ name: 'fine-name', squad: 'user:default/jane', kind: 'go' }),
    ).rejects.toThrow(/must be a Group/);
    await expect(
      run({
        name: 'Bad',
        squad: 'group:default/nope',
        system: 'system:default/nothing',
        kind: 'go',
      }),
    ).rejects.toThrow(
      /lowercase.*Squad 'nope'.*System 'system:default\/nothing'/,
    );
    expect(await fx.gitHost.list()).toEqual(['config', 'ledger']);
  });

  it('logs each problem to the task log', async () => {
    const logger = recordingLogger();
    const ctx = createMockActionContext({
      input: { name: 'ledger', squad: 'payments' } as any,
      logger,
      workspacePath: fx.workspace,
    });
    await expect(
      createValidateAction(fx.deps).handler(ctx as any),
    ).rejects.toThrow();
    expect(logger.lines).toContainEqual(
      expect.stringMatching(/^error: Name 'ledger' is taken/),
    );
  });
});

describe('serviceNameProblem', () => {
  it('accepts DNS labels and nothing else', () => {
    expect(serviceNameProblem('a')).toBeUndefined();
    expect(serviceNameProblem('payment-api-2')).toBeUndefined();
    expect(serviceNameProblem('x'.repeat(63))).toBeUndefined();
    expect(serviceNameProblem('trailing-')).toMatch(/start and end/);
    expect(serviceNameProblem('a..b')).toMatch(/path/);
    expect(serviceNameProblem(42)).toMatch(/required/);
  });
});
