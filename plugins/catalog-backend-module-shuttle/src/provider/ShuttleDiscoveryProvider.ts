import { Entity } from '@backstage/catalog-model';
import { LoggerService, SchedulerServiceTaskRunner } from '@backstage/backend-plugin-api';
import {
  DeferredEntity,
  EntityProvider,
  EntityProviderConnection,
} from '@backstage/plugin-catalog-node';
import { ENTITY_NAME, K8S_NAMESPACE, parseShuttleYaml, planBrowseUrl, planToString, ShuttleFile } from '../shuttle/parseShuttleYaml';
import {
  ANNOTATION_KUBERNETES_NAMESPACE,
  ANNOTATION_MANAGED_BY_LOCATION,
  ANNOTATION_MANAGED_BY_ORIGIN_LOCATION,
  ANNOTATION_SHUTTLE_DUPLICATE_SERVICE,
  ANNOTATION_SHUTTLE_FILE,
  ANNOTATION_SHUTTLE_PLAN,
  ANNOTATION_SHUTTLE_SERVICE,
  ANNOTATION_SHUTTLE_SQUAD,
  ANNOTATION_SOURCE_LOCATION,
  ShuttleSettings,
  defaultSettings,
  ownerRefForSquad,
} from '../settings';
import { ShuttleRepoSource } from './sources';

/** Options for {@link ShuttleDiscoveryProvider}. */
export interface ShuttleDiscoveryProviderOptions {
  source: ShuttleRepoSource;
  logger: LoggerService;
  /** Runs `refresh()` on a schedule once connected; without it, call `refresh()` yourself. */
  taskRunner?: SchedulerServiceTaskRunner;
  settings?: Partial<ShuttleSettings>;
}

/** Counts from one discovery run. */
export interface ShuttleDiscoveryRunResult {
  scanned: number;
  emitted: number;
  invalid: number;
  parsed: number;
  /** Repositories that could not be read this run (their last known entity is kept). */
  failed: number;
  /** Repositories whose vars.service another repository already declares. */
  duplicates: number;
}

/**
 * Finds repositories with a shuttle.yaml and no catalog-info.yaml and provides a Component for
 * each (full mutation every run). The ShuttleProcessor then enriches and checks them like any
 * other entity, so a bad shuttle.yaml shows as a processing error on the emitted Component.
 */
export class ShuttleDiscoveryProvider implements EntityProvider {
  private connection?: EntityProviderConnection;
  private readonly settings: ShuttleSettings;
  /** shuttle.yaml URL → last version seen and the entity built from it. */
  private readonly built = new Map<
    string,
    { repo: string; version: string; entity: Entity; invalid: boolean }
  >();

  constructor(private readonly options: ShuttleDiscoveryProviderOptions) {
    this.settings = { ...defaultSettings, ...options.settings };
  }

  getProviderName(): string {
    return `shuttle-discovery:${this.options.source.id}`;
  }

  async connect(connection: EntityProviderConnection): Promise<void> {
    this.connection = connection;
    if (this.options.taskRunner) {
      await this.options.taskRunner.run({
        id: `${this.getProviderName()}:refresh`,
        fn: async () => {
          try {
            await this.refresh();
          } catch (e) {
            this.options.logger.error(`Shuttle discovery failed: ${(e as Error).message}`);
          }
        },
      });
    }
  }

  /** One discovery run: lists repositories and applies a full mutation. */
  async refresh(): Promise<ShuttleDiscoveryRunResult> {
    if (!this.connection) throw new Error(`${this.getProviderName()} is not connected`);
    const { scanned, candidates, failed: unreadable = [] } = await this.options.source.discover();
    const found: { repo: string; shuttleUrl: string; entity: Entity }[] = [];
    const seen = new Set<string>();
    let invalid = 0;
    let parsed = 0;
    let failed = unreadable.length;
    for (const f of unreadable) {
      this.options.logger.warn(`Shuttle discovery could not read ${f.repo}: ${f.reason}; keeping what was known`);
    }
    // a repository that could not be read keeps its last known entity (a full mutation would
    // otherwise delete it)
    const failedRepos = new Set(unreadable.map(f => f.repo));
    for (const [url, b] of this.built) {
      if (failedRepos.has(b.repo)) {
        seen.add(url);
        found.push({ repo: b.repo, shuttleUrl: url, entity: b.entity });
      }
    }
    for (const c of candidates) {
      seen.add(c.shuttleUrl);
      let built = this.built.get(c.shuttleUrl);
      if (!built || built.version !== c.version) {
        let data: Buffer;
        try {
          data = await c.read();
        } catch (e) {
          failed++;
          this.options.logger.warn(
            `Shuttle discovery could not read ${c.shuttleUrl}: ${(e as Error).message}; keeping what was known`,
          );
          if (built) found.push({ repo: c.repo, shuttleUrl: c.shuttleUrl, entity: built.entity });
          continue;
        }
        parsed++;
        const result = parseShuttleYaml(data, {
          maxBytes: this.settings.maxBytes,
          maxAliasCount: this.settings.maxAliasCount,
        });
        if (!result.ok) {
          this.options.logger.warn(`Invalid shuttle.yaml at ${c.shuttleUrl}: ${result.reason}`);
        }
        const entity = this.buildEntity(c.repo, c.shuttleUrl, c.sourceUrl, result.ok ? result.file : undefined);
        built = entity ? { repo: c.repo, version: c.version, entity, invalid: !result.ok } : undefined;
        if (built) this.built.set(c.shuttleUrl, built);
        else this.built.delete(c.shuttleUrl);
      }
      if (!built) continue;
      if (built.invalid) invalid++;
      found.push({ repo: c.repo, shuttleUrl: c.shuttleUrl, entity: built.entity });
    }
    for (const url of [...this.built.keys()]) if (!seen.has(url)) this.built.delete(url);

    // Two repositories declaring the same vars.service would make two entities with one name
    // (the catalog keeps one and logs a conflict nobody sees). One keeps the name (below);
    // each other one is provided under its repository name, marked, and the processor reports
    // the duplicate as a processing error on it — visible to its owner in the portal.
    const byName = new Map<string, typeof found>();
    for (const f of found) {
      const key = f.entity.metadata.name.toLocaleLowerCase('en-US');
      byName.set(key, [...(byName.get(key) ?? []), f]);
    }
    let duplicates = 0;
    const entities: DeferredEntity[] = [];
    for (const group of byName.values()) {
      // the repository named like the service keeps the name; otherwise the first by URL
      const owns = (f: (typeof group)[number]) =>
        f.repo.replace(/\//g, '-').toLocaleLowerCase('en-US') ===
        f.entity.metadata.name.toLocaleLowerCase('en-US');
      group.sort(
        (a, b) => Number(owns(b)) - Number(owns(a)) || a.shuttleUrl.localeCompare(b.shuttleUrl),
      );
      const [first, ...others] = group;
      entities.push({ entity: first.entity, locationKey: `shuttle:${first.shuttleUrl}` });
      for (const other of others) {
        duplicates++;
        const service = other.entity.metadata.name;
        const fallback = other.repo.replace(/\//g, '-');
        this.options.logger.warn(
          `Duplicate vars.service '${service}': ${other.shuttleUrl} and ${first.shuttleUrl}; providing the former as '${fallback}' with a processing error`,
        );
        if (fallback.toLocaleLowerCase('en-US') === service.toLocaleLowerCase('en-US') || !ENTITY_NAME.test(fallback)) continue;
        entities.push({
          entity: {
            ...other.entity,
            metadata: {
              ...other.entity.metadata,
              name: fallback,
              annotations: {
                ...other.entity.metadata.annotations,
                [ANNOTATION_SHUTTLE_DUPLICATE_SERVICE]: `${service} ${first.shuttleUrl}`,
              },
            },
          },
          locationKey: `shuttle:${other.shuttleUrl}`,
        });
      }
    }

    await this.connection.applyMutation({ type: 'full', entities });
    this.options.logger.info(
      `Shuttle discovery on ${this.options.source.id}: ${scanned} repositories, ${entities.length} components (${invalid} with an invalid shuttle.yaml, ${failed} unreadable, ${duplicates} duplicate vars.service)`,
    );
    return { scanned, emitted: entities.length, invalid, parsed, failed, duplicates };
  }

  /**
   * The Component for a repository. For an invalid shuttle.yaml a bare Component is still
   * provided, so the processor's error (with the file URL) is recorded against it.
   */
  buildEntity(repo: string, shuttleUrl: string, sourceUrl: string, file?: ShuttleFile): Entity | undefined {
    const fallbackName = repo.replace(/\//g, '-');
    const name = file?.service ?? fallbackName;
    if (!ENTITY_NAME.test(name)) {
      this.options.logger.warn(`Skipping ${shuttleUrl}: '${name}' is not a valid entity name`);
      return undefined;
    }
    const annotations: Record<string, string> = {
      [ANNOTATION_MANAGED_BY_LOCATION]: `url:${shuttleUrl}`,
      [ANNOTATION_MANAGED_BY_ORIGIN_LOCATION]: `url:${shuttleUrl}`,
      [ANNOTATION_SOURCE_LOCATION]: `url:${sourceUrl}`,
      [ANNOTATION_SHUTTLE_FILE]: shuttleUrl,
    };
    const spec: Record<string, string> = {
      type: typeof file?.vars.type === 'string' ? file.vars.type : 'service',
      lifecycle: typeof file?.vars.lifecycle === 'string' ? file.vars.lifecycle : 'production',
    };
    const links: { url: string; title: string; type?: string }[] = [];
    if (file) {
      if (file.squad) {
        annotations[ANNOTATION_SHUTTLE_SQUAD] = file.squad;
        spec.owner = ownerRefForSquad(this.settings, file.squad);
      }
      if (file.service) annotations[ANNOTATION_SHUTTLE_SERVICE] = file.service;
      const ns = file.namespace ?? (file.squad && K8S_NAMESPACE.test(file.squad) ? file.squad : undefined);
      if (ns) annotations[ANNOTATION_KUBERNETES_NAMESPACE] = ns;
      if (file.plan) {
        annotations[ANNOTATION_SHUTTLE_PLAN] = planToString(file.plan);
        const planUrl = planBrowseUrl(file.plan);
        if (planUrl) links.push({ url: planUrl, title: 'Shuttle plan', type: 'shuttle-plan' });
      }
      const system = file.system ?? (this.settings.systemFromDomain ? file.domain : undefined);
      if (system) spec.system = system;
    }
    return {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Component',
      metadata: {
        name,
        description: `Discovered from ${shuttleUrl}`,
        annotations,
        ...(links.length ? { links } : {}),
      },
      spec,
    };
  }
}
