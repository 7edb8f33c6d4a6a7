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
}
