import { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import {
  Artifact,
  Environment,
  EnvironmentStatus,
  ManifestDiff,
  Page,
  PolicyVerdict,
  PromoteRequest,
  Release,
  ReleaseRequest,
  ReleaseResult,
  RollbackRequest,
  ServicePolicies,
} from '@devplane/plugin-release-manager-common';
import { PageOptions, ReleaseManagerApi } from './ReleaseManagerApi';

type Query = Record<string, string | number | undefined>;

/**
 * Talks to the release manager backend through the discovery and fetch APIs,
 * so that the caller's Backstage token travels with every request.
 *
 * @public
 */
export class ReleaseManagerClient implements ReleaseManagerApi {
  private readonly discoveryApi: DiscoveryApi;
  private readonly fetchApi: FetchApi;

  constructor(options: { discoveryApi: DiscoveryApi; fetchApi: FetchApi }) {
    this.discoveryApi = options.discoveryApi;
    this.fetchApi = options.fetchApi;
  }

  getEnvironments(): Promise<Environment[]> {
    return this.get('/environments');
  }

  getArtifacts(
    service: string,
    options: PageOptions & { branch?: string } = {},
  ): Promise<Page<Artifact>> {
    return this.get(`/services/${enc(service)}/artifacts`, {
      branch: options.branch || undefined,
      limit: options.limit,
      cursor: options.cursor,
    });
  }

  getArtifact(service: string, artifactId: string): Promise<Artifact> {
    return this.get(`/services/${enc(service)}/artifacts/${enc(artifactId)}`);
  }

  getStatus(service: string): Promise<EnvironmentStatus[]> {
    return this.get(`/services/${enc(service)}/status`);
  }

  getReleases(
    service: string,
    options: PageOptions & { environment?: string } = {},
  ): Promise<Page<Release>> {
    return this.get(`/services/${enc(service)}/releases`, {
      environment: options.environment,
      limit: options.limit,
      cursor: options.cursor,
    });
  }

  getTeamReleases(team: string, since: Date): Promise<Release[]> {
    return this.get(`/teams/${enc(team)}/releases`, {
      since: since.toISOString(),
    });
  }

  release(request: ReleaseRequest): Promise<ReleaseResult> {
    return this.send('POST', '/releases', request);
  }

  promote(request: PromoteRequest): Promise<ReleaseResult> {
    return this.send('POST', '/promotions', request);
  }

  rollback(request: RollbackRequest): Promise<ReleaseResult> {
    return this.send('POST', '/rollbacks', request);
  }

  getDiff(
    service: string,
    environment: string,
    artifactId: string,
  ): Promise<ManifestDiff> {
    return this.get(`/services/${enc(service)}/diff`, {
      environment,
      artifactId,
    });
  }

  getVerdict(
    service: string,
    environment: string,
    artifactId: string,
  ): Promise<PolicyVerdict> {
    return this.get(`/services/${enc(service)}/verdict`, {
      environment,
      artifactId,
    });
  }

  getPolicies(service: string): Promise<ServicePolicies> {
    return this.get(`/services/${enc(service)}/policies`);
  }

  setAutoReleasePolicy(
    service: string,
    policy: { branch: string; environment: string },
  ): Promise<ServicePolicies> {
    return this.send(
      'PUT',
      `/services/${enc(service)}/policies/auto-releases`,
      policy,
    );
  }

  setBranchRestrictionPolicy(
    service: string,
    policy: { branchRegex: string; environment: string },
  ): Promise<ServicePolicies> {
    return this.send(
      'PUT',
      `/services/${enc(service)}/policies/branch-restrictions`,
      policy,
    );
  }

  deletePolicy(service: string, policyId: string): Promise<ServicePolicies> {
    return this.send(
      'DELETE',
      `/services/${enc(service)}/policies/${enc(policyId)}`,
    );
  }

  private async url(path: string, query?: Query): Promise<string> {
    const base = await this.discoveryApi.getBaseUrl('release-manager');
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== '') params.set(key, String(value));
    }
    const qs = params.toString();
    return `${base}${path}${qs ? `?${qs}` : ''}`;
  }

  private async get<T>(path: string, query?: Query): Promise<T> {
    const response = await this.fetchApi.fetch(await this.url(path, query));
    if (!response.ok) throw await ResponseError.fromResponse(response);
    return (await response.json()) as T;
  }

  private async send<T>(
    method: 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<T> {
    const response = await this.fetchApi.fetch(await this.url(path), {
      method,
      headers:
        body === undefined ? undefined : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw await ResponseError.fromResponse(response);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}
