import { AuthService, LoggerService } from '@backstage/backend-plugin-api';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import { invalidNameReason } from '@devplane/plugin-release-manager-common';

/**
 * Components the catalog says a group owns (`relations.ownedBy`), read with the plugin's own
 * credentials, sorted. A catalog failure is thrown (an audit export by squad must not turn it
 * into an empty export).
 */
export async function servicesOwnedBy(
  deps: { catalog: CatalogService; auth: AuthService },
  team: string,
): Promise<string[]> {
  const { items } = await deps.catalog.getEntities(
    {
      filter: { kind: 'Component', 'relations.ownedBy': `group:default/${team}` },
      fields: ['metadata.name'],
    },
    { credentials: await deps.auth.getOwnServiceCredentials() },
  );
  return items
    .map(e => e.metadata.name)
    .filter(n => !invalidNameReason('service', n))
    .sort();
}

/**
 * {@link servicesOwnedBy}, where a catalog failure is logged and counts as none (the release
 * index's squad of artifacts still applies: DORA, since yesterday, a team's releases).
 */
export async function componentsOwnedBy(
  deps: { catalog: CatalogService; auth: AuthService; logger: LoggerService },
  team: string,
): Promise<string[]> {
  try {
    return await servicesOwnedBy(deps, team);
  } catch (e: any) {
    deps.logger.warn(`Catalog lookup of services owned by ${team} failed: ${e?.message ?? e}`);
    return [];
  }
}
