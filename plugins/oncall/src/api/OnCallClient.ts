import {
  createApiRef,
  DiscoveryApi,
  FetchApi,
} from '@backstage/core-plugin-api';
import { CompoundEntityRef } from '@backstage/catalog-model';
import { ResponseError } from '@backstage/errors';
import {
  Incident,
  OnCallResponse,
  ServiceFreeze,
  TriggerIncidentRequest,
  TriggerIncidentResponse,
} from '@devplane/plugin-oncall-common';

/** A production release as the incident dialog shows it (subset of the release manager's `Release`). */
export type ProductionRelease = {
  id: string;
  artifactId: string;
  releasedBy: string;
  releasedAt: string;
  intent?: string;
};

/** Answer of the release manager's `POST /rollbacks` (subset of its `ReleaseResult`). */
export type RollbackOutcome = {
  changed: boolean;
  message: string;
};

/** What a rollback would change in production (subset of the release manager's `ManifestDiff`). */
export type RollbackPreview = {
  fromArtifactId?: string;
  toArtifactId: string;
  files: Array<{
    path: string;
    change: 'added' | 'removed' | 'modified' | 'unchanged';
  }>;
};

/** The incident a rollback is the remedy for (recorded as the rollback's reason). */
export type RollbackIncident = { id: string; title: string };

/** The production environment of the release manager, as the incident dialog uses it. */
export const PRODUCTION_ENVIRONMENT = 'prod';

/** The on-call backend, as the frontend sees it. */
export interface OnCallApi {
  getOnCall(entity: CompoundEntityRef): Promise<OnCallResponse>;
  triggerIncident(
    entity: CompoundEntityRef,
    request: TriggerIncidentRequest,
  ): Promise<TriggerIncidentResponse>;
  acknowledgeIncident(id: string): Promise<{ incident: Incident }>;
  resolveIncident(id: string): Promise<{ incident: Incident }>;
  getServiceFreeze(service: string): Promise<ServiceFreeze>;
  /**
   * The service's last production releases from the release manager, newest first;
   * undefined when the release manager is not installed or does not know the service (404).
   */
  getProductionReleases(service: string, limit?: number): Promise<ProductionRelease[] | undefined>;
  /** What rolling production back to the artifact would change (the release manager's diff). */
  previewRollback(service: string, artifactId: string): Promise<RollbackPreview>;
  /**
   * Rolls production back to an artifact, overriding the incident freeze (the rollback is the
   * remedy); the incident, when given, is recorded as the rollback's reason.
   */
  rollbackProduction(
    service: string,
    artifactId: string,
    incident?: RollbackIncident,
  ): Promise<RollbackOutcome>;
}

/** @public */
export const onCallApiRef = createApiRef<OnCallApi>({ id: 'plugin.oncall' });

/** Talks to `/api/oncall` through the discovery and fetch APIs. */
export class OnCallClient implements OnCallApi {
  private readonly discoveryApi: DiscoveryApi;
  private readonly fetchApi: FetchApi;

  constructor(options: { discoveryApi: DiscoveryApi; fetchApi: FetchApi }) {
    this.discoveryApi = options.discoveryApi;
    this.fetchApi = options.fetchApi;
  }

  private async call<T>(path: string, init?: RequestInit): Promise<T> {
    const baseUrl = await this.discoveryApi.getBaseUrl('oncall');
    const res = await this.fetchApi.fetch(`${baseUrl}${path}`, init);
    if (!res.ok) {
      throw await ResponseError.fromResponse(res);
    }
    return (await res.json()) as T;
  }

  private async callReleaseManager(path: string, init?: RequestInit): Promise<Response> {
    const baseUrl = await this.discoveryApi.getBaseUrl('release-manager');
    return this.fetchApi.fetch(`${baseUrl}${path}`, init);
  }

  private static entityPath(entity: CompoundEntityRef) {
    return `/entities/${[entity.kind, entity.namespace, entity.name]
      .map(s => encodeURIComponent(s))
      .join('/')}`;
  }

  getOnCall(entity: CompoundEntityRef) {
    return this.call<OnCallResponse>(
      `${OnCallClient.entityPath(entity)}/oncall`,
    );
  }

  triggerIncident(entity: CompoundEntityRef, request: TriggerIncidentRequest) {
    return this.call<TriggerIncidentResponse>(
      `${OnCallClient.entityPath(entity)}/incidents`,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(request),
      },
    );
  }

  acknowledgeIncident(id: string) {
    return this.call<{ incident: Incident }>(
      `/incidents/${encodeURIComponent(id)}/acknowledge`,
      { method: 'POST' },
    );
  }

  resolveIncident(id: string) {
    return this.call<{ incident: Incident }>(
      `/incidents/${encodeURIComponent(id)}/resolve`,
      { method: 'POST' },
    );
  }

  getServiceFreeze(service: string) {
    return this.call<ServiceFreeze>(
      `/services/${encodeURIComponent(service)}/freeze`,
    );
  }

  async getProductionReleases(service: string, limit = 5) {
    const res = await this.callReleaseManager(
      `/services/${encodeURIComponent(service)}/releases?environment=${PRODUCTION_ENVIRONMENT}&limit=${limit}`,
    );
    if (res.status === 404) return undefined;
    if (!res.ok) {
      throw await ResponseError.fromResponse(res);
    }
    const page = (await res.json()) as { items?: ProductionRelease[] };
    return page.items ?? [];
  }

  async previewRollback(service: string, artifactId: string) {
    const res = await this.callReleaseManager(
      `/services/${encodeURIComponent(service)}/diff?environment=${PRODUCTION_ENVIRONMENT}&artifactId=${encodeURIComponent(artifactId)}`,
    );
    if (!res.ok) {
      throw await ResponseError.fromResponse(res);
    }
    return (await res.json()) as RollbackPreview;
  }

  async rollbackProduction(
    service: string,
    artifactId: string,
    incident?: RollbackIncident,
  ) {
    // one line, no control characters: the reason becomes a commit trailer
    const about = incident
      ? `incident ${incident.id} (${incident.title
          // eslint-disable-next-line no-control-regex
          .replace(/[\u0000-\u001f\u007f]+/g, ' ')
          .trim()
          .slice(0, 120)})`
      : undefined;
    const res = await this.callReleaseManager('/rollbacks', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        service,
        environment: PRODUCTION_ENVIRONMENT,
        artifactId,
        reason: about ? `rollback for ${about}` : 'rollback from incident',
        overrideFreeze: {
          reason: about
            ? `rollback is the remedy for ${about}`
            : 'rollback during incident',
        },
      }),
    });
    if (!res.ok) {
      throw await ResponseError.fromResponse(res);
    }
    return (await res.json()) as RollbackOutcome;
  }
}
