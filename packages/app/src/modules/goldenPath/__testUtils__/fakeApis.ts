import { catalogApiMock } from '@backstage/plugin-catalog-react/testUtils';

type Entity = NonNullable<
  NonNullable<Parameters<typeof catalogApiMock>[0]>['entities']
>[number];

/** A component entity, as the catalog would return it. */
export function component(name: string, namespace = 'default'): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace },
    spec: {
      type: 'service',
      lifecycle: 'production',
      owner: 'group:default/payments',
    },
  };
}

/** The apis the name checks use: a catalog with `ledger`, a git host with `legacy-batch`. */
export function fakeLookupApis(options?: { gitHostStatus?: number }) {
  const catalogApi = catalogApiMock({
    entities: [
      component('ledger'),
      { ...component('payments'), kind: 'Group', spec: { type: 'squad' } },
    ],
  });
  const discoveryApi = {
    getBaseUrl: jest.fn(async (id: string) => `http://backend.test/api/${id}`),
  };
  const fetchApi = {
    fetch: jest.fn(async (url: RequestInfo | URL) => {
      if (String(url) !== 'http://backend.test/api/git-host/repos') {
        throw new Error(`unexpected request to ${url}`);
      }
      const status = options?.gitHostStatus ?? 200;
      return {
        ok: status < 300,
        status,
        json: async () => ({
          items: [
            {
              name: 'ledger',
              cloneUrl: 'http://backend.test/api/git-host/repos/ledger.git',
            },
            {
              name: 'legacy-batch',
              cloneUrl:
                'http://backend.test/api/git-host/repos/legacy-batch.git',
            },
          ],
        }),
      } as Response;
    }),
  };
  return { catalogApi, discoveryApi, fetchApi };
}
