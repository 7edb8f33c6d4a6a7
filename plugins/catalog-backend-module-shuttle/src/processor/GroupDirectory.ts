import { AuthService, LoggerService } from '@backstage/backend-plugin-api';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { normalizeRef } from '../settings';

/**
 * Knows which Groups exist in the catalog, asking the catalog with the module's own service
 * credentials and keeping the answer briefly. A group missing from a list older than a few
 * seconds triggers one refresh, so a freshly ingested squad is found quickly.
 */
export class GroupDirectory {
  private refs = new Set<string>();
  private loadedAt = 0;
  private loading?: Promise<void>;
  private readonly ttlMs: number;
  private readonly minRefreshMs: number;

  constructor(
    private readonly options: {
      catalog: Pick<CatalogService, 'getEntities'>;
      auth: Pick<AuthService, 'getOwnServiceCredentials'>;
      logger?: LoggerService;
      ttlSeconds?: number;
      now?: () => number;
    },
  ) {
    this.ttlMs = (options.ttlSeconds ?? 30) * 1000;
    this.minRefreshMs = Math.min(5000, this.ttlMs);
  }

  private now() {
    return this.options.now?.() ?? Date.now();
  }

  /** True when a Group with this ref exists. */
  async has(ref: string): Promise<boolean> {
    const key = normalizeRef(ref);
    const age = this.now() - this.loadedAt;
    if (this.loadedAt === 0 || age > this.ttlMs) await this.load();
    else if (!this.refs.has(key) && age > this.minRefreshMs) await this.load();
    return this.refs.has(key);
  }

  private load(): Promise<void> {
    if (!this.loading) {
      this.loading = (async () => {
        try {
          const credentials = await this.options.auth.getOwnServiceCredentials();
          const { items } = await this.options.catalog.getEntities(
            { filter: { kind: 'Group' }, fields: ['kind', 'metadata.name', 'metadata.namespace'] },
            { credentials },
          );
          this.refs = new Set(
            items.map(e => `group:${e.metadata.namespace ?? 'default'}/${e.metadata.name}`.toLowerCase()),
          );
          this.loadedAt = this.now();
        } finally {
          this.loading = undefined;
        }
      })();
    }
    return this.loading;
  }
}
