import { AuthService } from '@backstage/backend-plugin-api';
import { CatalogApi } from '@backstage/catalog-client';
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
