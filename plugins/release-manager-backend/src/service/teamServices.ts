import { AuthService, LoggerService } from '@backstage/backend-plugin-api';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import { invalidNameReason } from '@devplane/plugin-release-manager-common';

/**
 * Components the catalog says a group owns (`relations.ownedBy`), read with the plugin's own
 * credentials. A catalog failure is logged and counts as none (the release index's squad of
 * artifacts still applies).
 */
export async function componentsOwnedBy(
  deps: { catalog: CatalogService; auth: AuthService; logger: LoggerService },
  team: string,
): Promise<string[]> {
  try {
    const { items } = await deps.catalog.getEntities(
      {
        filter: { kind: 'Component', 'relations.ownedBy': `group:default/${team}` },
        fields: ['metadata.name'],
      },
      { credentials: await deps.auth.getOwnServiceCredentials() },
    );
    return items.map(e => e.metadata.name).filter(n => !invalidNameReason('service', n));
  } catch (e: any) {
    deps.logger.warn(`Catalog lookup of services owned by ${team} failed: ${e?.message ?? e}`);
    return [];
  }
}
