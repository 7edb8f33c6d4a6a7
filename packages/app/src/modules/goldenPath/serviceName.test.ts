import { createFieldValidation } from '@backstage/plugin-scaffolder-react/alpha';
import { discoveryApiRef, fetchApiRef } from '@backstage/frontend-plugin-api';
import { catalogApiRef } from '@backstage/plugin-catalog-react';
import { findServiceNameProblems, serviceNameRuleProblem } from './serviceName';
import { validateServiceName } from './validation';
import { fakeLookupApis } from './__testUtils__/fakeApis';

describe('serviceNameRuleProblem', () => {
  it.each([['payment-api'], ['a1'], ['x'.repeat(63)]])('accepts %j', name => {
    expect(serviceNameRuleProblem(name)).toBeUndefined();
  });

  it.each([
    ['', 'Enter a name for the service'],
    ['../evil', "must not contain '/', '\\' or '..'"],
    ['team/service', "must not contain '/', '\\' or '..'"],
    ['a..b', "must not contain '/', '\\' or '..'"],
    ['.hidden', "must not contain '/', '\\' or '..'"],
    [
      'Payment-Api',
      "Use lowercase letters, digits and '-' (e.g. 'payment-api')",
    ],
    ['payment_api', "Use lowercase letters, digits and '-' only"],
    ['my service', 'must not contain spaces'],
    ['-api', 'must start and end with a letter or digit'],
    ['api-', 'must start and end with a letter or digit'],
    ['x'.repeat(64), 'is 64 characters long: use at most 63'],
  ])('explains why %j is refused', (name, message) => {
    expect(serviceNameRuleProblem(name)).toContain(message);
  });
});

describe('findServiceNameProblems', () => {
  it('reports a name taken in the catalog', async () => {
    const apis = fakeLookupApis();
    expect(await findServiceNameProblems('ledger', apis)).toEqual([
      "'ledger' is taken: component:default/ledger is already in the catalog",
      "'ledger' is taken: a repository with that name already exists on the git host",
    ]);
  });

  it('reports a name taken only by a repository on the git host', async () => {
    const apis = fakeLookupApis();
    expect(await findServiceNameProblems('legacy-batch', apis)).toEqual([
      "'legacy-batch' is taken: a repository with that name already exists on the git host",
    ]);
    expect(apis.discoveryApi.getBaseUrl).toHaveBeenCalledWith('git-host');
  });

  it('does not count other kinds (a Group named like the service) as taken', async () => {
    expect(await findServiceNameProblems('payments', fakeLookupApis())).toEqual(
      [],
    );
  });

  it('reports an invalid name without asking catalog or git host', async () => {
    const apis = fakeLookupApis();
    expect(await findServiceNameProblems('../Evil', apis)).toEqual([
      "The name must not contain '/', '\\' or '..' (it is not a path)",
    ]);
    expect(apis.fetchApi.fetch).not.toHaveBeenCalled();
  });

  it('accepts a free name', async () => {
    expect(
      await findServiceNameProblems('payment-api', fakeLookupApis()),
    ).toEqual([]);
  });

  it('refuses a name it could not check', async () => {
    expect(
      await findServiceNameProblems(
        'payment-api',
        fakeLookupApis({ gitHostStatus: 503 }),
      ),
    ).toEqual([
      "Could not check the git host for 'payment-api' (HTTP 503); try again in a moment",
    ]);
  });
});

describe('validateServiceName (the field validation run before Review)', () => {
  async function validate(name: string, apis = fakeLookupApis()) {
    const byId = new Map<string, unknown>([
      [catalogApiRef.id, apis.catalogApi],
      [discoveryApiRef.id, apis.discoveryApi],
      [fetchApiRef.id, apis.fetchApi],
    ]);
    const validation = createFieldValidation();
    await validateServiceName(name, validation, {
      apiHolder: { get: (ref: { id: string }) => byId.get(ref.id) as any },
      formData: { name },
      schema: {},
    });
    return validation.__errors;
  }

  it('adds an error for a name taken in the catalog', async () => {
    expect(await validate('ledger')).toContain(
      "'ledger' is taken: component:default/ledger is already in the catalog",
    );
  });

  it('adds an error for a name taken as a repository', async () => {
    expect(await validate('legacy-batch')).toEqual([
      "'legacy-batch' is taken: a repository with that name already exists on the git host",
    ]);
  });

  it('adds an error for an invalid name', async () => {
    expect(await validate('Payments')).toEqual([
      "Use lowercase letters, digits and '-' (e.g. 'payments')",
    ]);
  });

  it('adds no error for a free, valid name', async () => {
    expect(await validate('payment-api')).toEqual([]);
  });

  it('adds an error when the apis are missing', async () => {
    const validation = createFieldValidation();
    await validateServiceName('payment-api', validation, {
      apiHolder: { get: () => undefined },
      formData: {},
      schema: {},
    });
    expect(validation.__errors).toEqual([
      'Could not check whether the name is free: the catalog or git host is not available',
    ]);
  });
});
