import { mockServices } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { actorFromIdentity } from './actors';

describe('actorFromIdentity', () => {
  const alice = {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'User',
    metadata: { name: 'alice', namespace: 'default' },
    spec: { profile: { email: 'alice@bank.example', displayName: 'Alice' } },
  };

  it('takes the email and name from the catalog profile, and asks the catalog again only after a few seconds', async () => {
    const catalog = catalogServiceMock({ entities: [alice] });
    const lookups = jest.spyOn(catalog, 'getEntityByRef');
    const deps = { catalog, auth: mockServices.auth(), logger: mockServices.logger.mock() };
    const now = jest.spyOn(Date, 'now');
    try {
      now.mockReturnValue(1_000_000);
      const first = await actorFromIdentity('user:default/alice', deps);
      expect(first).toEqual({ ref: 'user:default/alice', email: 'alice@bank.example', displayName: 'Alice' });
      first.email = 'changed by a caller';
      expect(await actorFromIdentity('user:default/alice', deps)).toEqual({
        ref: 'user:default/alice',
        email: 'alice@bank.example',
        displayName: 'Alice',
      });
      expect(lookups).toHaveBeenCalledTimes(1);
      now.mockReturnValue(1_000_000 + 10_001);
      await actorFromIdentity('user:default/alice', deps);
      expect(lookups).toHaveBeenCalledTimes(2);
    } finally {
      now.mockRestore();
    }
  });

  it('a user without a profile (or a failed lookup) is asked for again on the next request; services stand for themselves', async () => {
    const catalog = catalogServiceMock({ entities: [] });
    const lookups = jest.spyOn(catalog, 'getEntityByRef');
    const deps = { catalog, auth: mockServices.auth(), logger: mockServices.logger.mock() };
    expect(await actorFromIdentity('user:default/bob', deps)).toEqual({ ref: 'user:default/bob', email: 'user:default/bob' });
    await actorFromIdentity('user:default/bob', deps);
    expect(lookups).toHaveBeenCalledTimes(2);
    expect(await actorFromIdentity('plugin:scaffolder', deps)).toEqual({ ref: 'plugin:scaffolder', email: 'plugin:scaffolder' });
    expect(lookups).toHaveBeenCalledTimes(2);
  });
});
