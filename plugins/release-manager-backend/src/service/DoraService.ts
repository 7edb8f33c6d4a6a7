import {
  AuthService,
  DiscoveryService,
  LoggerService,
} from '@backstage/backend-plugin-api';
import {
  DoraIncident,
  DoraRelease,
  DoraReport,
  Environment,
  Release,
  computeDora,
} from '@devplane/plugin-release-manager-common';
import { ReleaseManagerStore } from '../database/ReleaseManagerStore';

const DAY_MS = 24 * 3_600_000;

/** Where incidents come from: the on-call backend. */
export interface IncidentSource {
  /** Incidents of a service opened or resolved since `since`, and open ones. Throws when it cannot tell. */
  incidentsSince(service: string, since: string): Promise<DoraIncident[]>;
}

/**
 * Reads incidents from the on-call backend (`GET /api/oncall/services/:name/incidents?since=`)
 * with the release manager's own service credentials. A 404 (no component of that name) means
 * no incidents; anything else unexpected throws.
 */
export class OnCallIncidentSource implements IncidentSource {
  constructor(
    private readonly options: {
      discovery: DiscoveryService;
      auth: AuthService;
      timeoutMs?: number;
      fetch?: typeof fetch;
    },
  ) {}

  async incidentsSince(service: string, since: string): Promise<DoraIncident[]> {
    const { discovery, auth } = this.options;
    const baseUrl = await discovery.getBaseUrl('oncall');
    const { token } = await auth.getPluginRequestToken({
      onBehalfOf: await auth.getOwnServiceCredentials(),
      targetPluginId: 'oncall',
    });
    const res = await (this.options.fetch ?? fetch)(
      `${baseUrl}/services/${encodeURIComponent(service)}/incidents?since=${encodeURIComponent(since)}`,
      {
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      },
    );
    if (res.status === 404) {
      await res.body?.cancel();
      return [];
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status}`);
    }
    const body: any = await res.json();
    if (!Array.isArray(body?.incidents)) throw new Error('answer without "incidents"');
    return body.incidents
      .filter((i: any) => i && typeof i.id === 'string' && typeof i.createdAt === 'string')
      .map((i: any) => ({
        id: i.id,
        service,
        openedAt: i.createdAt,
        resolvedAt: typeof i.resolvedAt === 'string' ? i.resolvedAt : undefined,
        title: typeof i.title === 'string' ? i.title.slice(0, 300) : undefined,
        status: typeof i.status === 'string' ? i.status : undefined,
        url: typeof i.url === 'string' && /^https?:\/\//.test(i.url) ? i.url : undefined,
      }));
  }
}

/** DORA metrics of services from the release index (rebuilt from git) and on-call incidents. */
export class DoraService {
  constructor(
    private readonly options: {
      store: ReleaseManagerStore;
      configRepoKey: string;
      environments: Environment[];
      failureWindowHours: number;
      /** Brings the index up to date with git before reading. */
      ensureSynced: () => Promise<void>;
      incidents?: IncidentSource;
      logger: LoggerService;
    },
  ) {}

  async report(
    scope: DoraReport['scope'],
    services: string[],
    days: number,
    now = Date.now(),
  ): Promise<DoraReport> {
    const { store, configRepoKey, failureWindowHours } = this.options;
    const production = this.options.environments.filter(e => e.production).map(e => e.name);
    const to = now;
    const from = to - days * DAY_MS;
    // Deployments up to one failure window before the window: a rollback early in the window
    // restores (and blames) one of them.
    const since = new Date(from - failureWindowHours * 3_600_000).toISOString();
    await this.options.ensureSynced();
    const rows = await store.doraReleases(configRepoKey, services, production, since);
    let leadTimeFromUpload = 0;
    const releases: DoraRelease[] = rows.map(r => {
      const sourceCommittedAt = r.sourceCommittedAt ?? r.artifactCreatedAt ?? undefined;
      if (!r.sourceCommittedAt && r.intent !== 'rollback') {
        const t = Date.parse(r.releasedAt);
        if (t >= from && t < to) leadTimeFromUpload++;
      }
      return {
        id: r.id,
        service: r.service,
        production: true,
        intent: r.intent,
        releasedAt: r.releasedAt,
        sourceCommittedAt,
      };
    });

    const { incidents, warnings } = await this.incidentsOf(services, since);

    return {
      scope,
      services,
      environments: production,
      metrics: computeDora(releases, incidents, { from, to, failureWindowHours }),
      incidents: { checked: warnings.length === 0, warnings: warnings.slice(0, 20) },
      leadTimeFromUpload,
    };
  }

  /** Incidents of the services since `since` from the on-call backend; who could not be read, in words. */
  async incidentsOf(services: string[], since: string): Promise<{ incidents: DoraIncident[]; warnings: string[] }> {
    const warnings: string[] = [];
    const incidents: DoraIncident[] = [];
    const source = this.options.incidents;
    if (!source) {
      return { incidents, warnings: ['no incident source is configured: incidents are not counted'] };
    }
    // a few services at a time: a squad owns tens of services, not thousands
    for (let i = 0; i < services.length; i += 8) {
      await Promise.all(
        services.slice(i, i + 8).map(async service => {
          try {
            incidents.push(...(await source.incidentsSince(service, since)));
          } catch (e: any) {
            const why = e?.name === 'TimeoutError' ? 'no answer in time' : e?.cause?.code ?? e?.message ?? String(e);
            warnings.push(`incidents of ${service} not counted: on-call backend unreachable (${why})`);
            this.options.logger.warn(`Incidents of ${service} not read (${why})`);
          }
        }),
      );
    }
    return { incidents, warnings };
  }

  /** Releases of the services (every environment) at or after `since`, newest first, from the index. */
  async releasesSince(services: string[], since: string): Promise<Release[]> {
    await this.options.ensureSynced();
    return this.options.store.releasesSince(this.options.configRepoKey, services, since);
  }
}
