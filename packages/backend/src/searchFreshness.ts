/*
 * Search from minute one. The stock collators index on a schedule (every 10 minutes, first run 3 s after
 * start), so on a fresh start the services that the catalog ingests a little later are not findable for
 * ten minutes, and TechDocs pages only become searchable after someone has opened them (the local builder
 * builds on request). This module watches the catalog and, when it changed:
 *  - triggers the catalog collator's scheduled task (`search_index_software_catalog`) at once;
 *  - asks TechDocs to build the docs of new or changed entities with a techdocs-ref (the same
 *    `/sync` endpoint the docs page calls; unchanged docs are a cheap NotModified), then triggers
 *    the TechDocs collator (`search_index_techdocs`).
 * A trigger that meets a running index task is retried on the next tick.
 */
import crypto from 'node:crypto';
import {
  AuthService,
  DiscoveryService,
  LoggerService,
  SchedulerService,
  coreServices,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { CatalogService, catalogServiceRef } from '@backstage/plugin-catalog-node';

export const CATALOG_INDEX_TASK = 'search_index_software_catalog';
export const TECHDOCS_INDEX_TASK = 'search_index_techdocs';
const TECHDOCS_ANNOTATION = 'backstage.io/techdocs-ref';

/** Builds one entity's docs; resolves true when new docs were published. */
export type DocsBuilder = (entity: Entity) => Promise<boolean>;

/** The watcher's state machine, separated from the scheduler so it can be tested with real parts. */
export class SearchFreshness {
  private fingerprint?: string;
  private docsEtags = new Map<string, string>();
  private pendingCatalog = false;
  private pendingTechdocs = false;
  private failedAt = new Map<string, number>();

  constructor(
    private readonly deps: {
      catalog: CatalogService;
      auth: AuthService;
      scheduler: Pick<SchedulerService, 'triggerTask'>;
      logger: LoggerService;
      buildDocs: DocsBuilder;
      /** Pause before a failed docs build is tried again (default 5 minutes). */
      retryFailedMs?: number;
      now?: () => number;
    },
  ) {}

  private get retryFailedMs() {
    return this.deps.retryFailedMs ?? 5 * 60_000;
  }

  private now() {
    return (this.deps.now ?? Date.now)();
  }

  /** One look at the catalog; returns what was triggered (for logs and tests). */
  async tick(): Promise<{ catalog: boolean; techdocs: boolean; built: string[] }> {
    const { catalog, auth } = this.deps;
    const { items } = await catalog.getEntities(
      {
        fields: [
          'kind',
          'metadata.namespace',
          'metadata.name',
          'metadata.etag',
          `metadata.annotations.${TECHDOCS_ANNOTATION}`,
        ],
      },
      { credentials: await auth.getOwnServiceCredentials() },
    );
    const lines = items
      .map(e => `${stringifyEntityRef(e)}@${e.metadata.etag ?? ''}`)
      .sort();
    const fingerprint = crypto.createHash('sha256').update(lines.join('\n')).digest('hex');
    if (fingerprint !== this.fingerprint) {
      this.fingerprint = fingerprint;
      this.pendingCatalog = true;
    }

    // the catalog first: building docs takes seconds per entity
    let catalogTriggered = false;
    if (this.pendingCatalog && (await this.trigger(CATALOG_INDEX_TASK))) {
      this.pendingCatalog = false;
      catalogTriggered = true;
    }

    const built: string[] = [];
    let techdocsTriggered = false;
    const flushTechdocs = async () => {
      if (this.pendingTechdocs && (await this.trigger(TECHDOCS_INDEX_TASK))) {
        this.pendingTechdocs = false;
        techdocsTriggered = true;
      }
    };
    for (const entity of items) {
      if (!entity.metadata.annotations?.[TECHDOCS_ANNOTATION]) continue;
      const ref = stringifyEntityRef(entity);
      const etag = entity.metadata.etag ?? '';
      if (this.docsEtags.get(ref) === etag) continue;
      const failed = this.failedAt.get(ref);
      if (failed !== undefined && this.now() - failed < this.retryFailedMs) continue;
      try {
        if (await this.deps.buildDocs(entity)) built.push(ref);
        this.docsEtags.set(ref, etag);
        this.failedAt.delete(ref);
        // a first look also indexes docs that an earlier run of the backend had built
        this.pendingTechdocs = true;
        // index what is built so far unless an index run is busy (then: after the next build)
        await flushTechdocs();
      } catch (e) {
        // leave the etag unrecorded and try again after a pause (not every tick)
        this.failedAt.set(ref, this.now());
        this.deps.logger.warn(`TechDocs build for ${ref} failed (retry in ${this.retryFailedMs / 1000} s): ${e}`);
      }
    }
    await flushTechdocs();
    return { catalog: catalogTriggered, techdocs: techdocsTriggered, built };
  }

  private async trigger(taskId: string): Promise<boolean> {
    try {
      await this.deps.scheduler.triggerTask(taskId);
      this.deps.logger.info(`Catalog changed: re-indexing ${taskId} now`);
      return true;
    } catch (e: any) {
      // ConflictError: running right now; NotFoundError: not registered yet (collator starting)
      if (e?.name === 'ConflictError' || e?.name === 'NotFoundError') return false;
      throw e;
    }
  }
}

/** Builds docs through TechDocs' own `/sync` endpoint (event stream: `finish` or `error`). */
export function techdocsSyncBuilder(options: {
  discovery: DiscoveryService;
  auth: AuthService;
}): DocsBuilder {
  return async entity => {
    const baseUrl = await options.discovery.getBaseUrl('techdocs');
    const { token } = await options.auth.getPluginRequestToken({
      onBehalfOf: await options.auth.getOwnServiceCredentials(),
      targetPluginId: 'techdocs',
    });
    const { kind, metadata } = entity;
    const url = `${baseUrl}/sync/${encodeURIComponent(metadata.namespace ?? 'default')}/${encodeURIComponent(
      kind.toLocaleLowerCase('en-US'),
    )}/${encodeURIComponent(metadata.name)}`;
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    });
    const body = await res.text();
    if (!res.ok) throw new Error(`${res.status} ${body.slice(0, 200)}`);
    const events = parseEventStream(body);
    const error = events.find(e => e.event === 'error');
    if (error) throw new Error(String(error.data));
    const finish = events.find(e => e.event === 'finish');
    if (!finish) throw new Error('TechDocs sync ended without a result');
    return Boolean((finish.data as { updated?: boolean })?.updated);
  };
}

/** Parses a complete `text/event-stream` body into its events (data is JSON where it parses). */
export function parseEventStream(body: string): Array<{ event: string; data: unknown }> {
  return body
    .split(/\n\n+/)
    .map(block => {
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trim());
      }
      const raw = data.join('\n');
      let parsed: unknown = raw;
      try {
        parsed = JSON.parse(raw);
      } catch {
        // plain text data
      }
      return { event, data: parsed, empty: data.length === 0 };
    })
    .filter(e => !e.empty)
    .map(({ event, data }) => ({ event, data }));
}

/** Installs the watcher as a module of the search plugin (whose scheduler owns the index tasks). */
export default createBackendModule({
  pluginId: 'search',
  moduleId: 'devplane-freshness',
  register(reg) {
    reg.registerInit({
      deps: {
        config: coreServices.rootConfig,
        scheduler: coreServices.scheduler,
        logger: coreServices.logger,
        auth: coreServices.auth,
        discovery: coreServices.discovery,
        catalog: catalogServiceRef,
      },
      async init({ config, scheduler, logger, auth, discovery, catalog }) {
        const pollSeconds = config.getOptionalNumber('search.freshness.pollSeconds') ?? 10;
        if (pollSeconds <= 0) return;
        const freshness = new SearchFreshness({
          catalog,
          auth,
          scheduler,
          logger,
          buildDocs: techdocsSyncBuilder({ discovery, auth }),
        });
        await scheduler.scheduleTask({
          id: 'devplane-search-freshness',
          frequency: { seconds: pollSeconds },
          timeout: { minutes: 10 },
          initialDelay: { seconds: 5 },
          // each replica keeps its own fingerprint; the index tasks it triggers run once
          scope: 'local',
          fn: async () => {
            const r = await freshness.tick();
            if (r.built.length) logger.info(`TechDocs built for ${r.built.join(', ')}`);
          },
        });
      },
    });
  },
});
