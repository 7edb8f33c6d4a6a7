/* eslint-disable @backstage/no-undeclared-imports, @backstage/no-mixed-plugin-imports */
// The real release-manager-backend (a sibling workspace package) in a test backend, sharing the
// fixture's local git host (so pushes the golden path announces reach its push path) and a
// catalog that shows a component once the golden path registered its location.
import path from 'node:path';
import { AddressInfo } from 'node:net';
import { createServiceFactory } from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { LocalGitHost } from '@devplane/plugin-git-host-node';
import { releaseManagerTestFeatures } from '@devplane/plugin-release-manager-backend/testing';

/** Users of the test organisation: all in payments; mallory may not release to production. */
export const TEST_USERS = ['alice', 'mallory'].map(name => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'User',
  metadata: { name, namespace: 'default' },
  spec: {
    profile: { email: `${name}@bank.example`, displayName: name },
    memberOf: ['payments'],
  },
  relations: [{ type: 'memberOf', targetRef: 'group:default/payments' }],
}));

/**
 * Starts the release manager. `lookup` is the catalog it sees (the fixture's: demo entities,
 * test users, components of registered locations). Production keeps its guardrails: only
 * main/master, branch verified in the source repository named by the catalog, uploads by owners.
 */
export async function startRealReleaseManager(options: {
  gitHost: LocalGitHost;
  dataDir: string;
  lookup: (ref: string) => Promise<any>;
}) {
  const catalog: any = new Proxy(
    {},
    {
      get: (_t, prop) => {
        if (prop === 'getEntityByRef')
          return async (ref: any) =>
            options.lookup(
              typeof ref === 'string'
                ? ref
                : `${ref.kind}:${ref.namespace ?? 'default'}/${
                    ref.name
                  }`.toLocaleLowerCase('en-US'),
            );
        if (prop === 'getEntitiesByRefs')
          return async (req: { entityRefs: string[] }) => ({
            items: await Promise.all(
              req.entityRefs.map(r => options.lookup(r)),
            ),
          });
        if (prop === 'then') return undefined;
        return async () => ({ items: [] });
      },
    },
  );
  const backend = await startTestBackend({
    features: releaseManagerTestFeatures({
      dataDir: options.dataDir,
      gitHost: options.gitHost,
      catalog: createServiceFactory({
        service: catalogServiceRef,
        deps: {},
        factory: () => catalog,
      }),
      // Mallory may do everything except release to production (and so may not set an
      // auto-release policy into production).
      allow: (permission, user) =>
        !(
          user === 'user:default/mallory' &&
          permission === 'release-manager.promote.production'
        ),
    }),
  });
  const port = (backend.server.address() as AddressInfo).port;
  return {
    baseUrl: `http://localhost:${port}/api/release-manager`,
    configRepo: path.join(options.gitHost.rootDir, 'config.git'),
    /** Auth whose tokens the test backend accepts (calls on behalf of mock users). */
    auth: mockServices.auth(),
    stop: () => backend.stop(),
  };
}
