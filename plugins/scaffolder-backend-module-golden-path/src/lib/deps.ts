import { AuthService } from '@backstage/backend-plugin-api';
import { CatalogApi } from '@backstage/catalog-client';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import { ReleaseManagerClient } from './releaseManager';
import { RepoHosts } from './repoHosts';

/** The catalog calls the golden path makes, with a token for the catalog backend. */
export interface CatalogAccess {
  api: Pick<
    CatalogApi,
    | 'getEntities'
    | 'getEntityByRef'
    | 'getLocationByRef'
    | 'removeLocationById'
    | 'addLocation'
  >;
  /** A service token for the catalog (undefined in tests with an in-memory catalog). */
  token(): Promise<string | undefined>;
}

/** Everything the golden-path actions need; wired by the module, faked in tests. */
export interface GoldenPathDeps {
  repoHosts: RepoHosts;
  catalog: CatalogAccess;
  releaseManager: ReleaseManagerClient;
  /** Image registry prefix for manifests (`goldenPath.imageRegistry`). */
  imageRegistry?: string;
  /** Frontend base URL (`app.baseUrl`), for links on the result page. */
  appBaseUrl?: string;
}

/** Builds {@link CatalogAccess} on top of a catalog client and the auth service. */
export function catalogAccess(
  api: CatalogAccess['api'],
  auth: AuthService,
): CatalogAccess {
  return {
    api,
    token: async () =>
      (
        await auth.getPluginRequestToken({
          onBehalfOf: await auth.getOwnServiceCredentials(),
          targetPluginId: 'catalog',
        })
      ).token,
  };
}

/**
 * {@link CatalogAccess} through Backstage's catalog service (`catalogServiceRef`), with this
 * plugin's own service credentials: no hand-made catalog client or token.
 */
export function catalogServiceAccess(
  catalog: CatalogService,
  auth: AuthService,
): CatalogAccess {
  const options = async () => ({
    credentials: await auth.getOwnServiceCredentials(),
  });
  return {
    api: {
      getEntities: async request => catalog.getEntities(request, await options()),
      getEntityByRef: async ref => catalog.getEntityByRef(ref, await options()),
      getLocationByRef: async ref =>
        catalog.getLocationByRef(ref, await options()),
      removeLocationById: async id =>
        catalog.removeLocationById(id, await options()),
      addLocation: async location =>
        catalog.addLocation(location, await options()),
    },
    // the catalog service authenticates itself; callers' `{ token }` is not needed
    token: async () => undefined,
  };
}

