import {
  AuthService,
  BackstageCredentials,
  DiscoveryService,
} from '@backstage/backend-plugin-api';
import { ResponseError } from '@backstage/errors';
import {
  Artifact,
  ArtifactUpload,
  Environment,
  EnvironmentStatus,
  PushProgress,
  ReleaseRequest,
  ReleaseResult,
  ServicePolicies,
} from '@devplane/plugin-release-manager-common';

/**
 * A thin client of the release manager REST API (`/api/release-manager`). Every call is made on
 * behalf of the given credentials (the golden path passes the user's, so the release log names
 * the person who created the service).
 */
export class ReleaseManagerClient {
  constructor(
    private readonly deps: {
      discovery: DiscoveryService;
      auth: AuthService;
      fetch?: typeof fetch;
    },
  ) {}

  private async call<T>(
    credentials: BackstageCredentials,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<T> {
    const baseUrl = await this.deps.discovery.getBaseUrl('release-manager');
    const { token } = await this.deps.auth.getPluginRequestToken({
      onBehalfOf: credentials,
      targetPluginId: 'release-manager',
    });
    const res = await (this.deps.fetch ?? fetch)(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) {
      const err = await ResponseError.fromResponse(res);
      err.message = `release manager ${method} ${path} answered ${
        res.status
      }: ${err.body?.error?.message ?? res.statusText}`;
      throw err;
    }
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  getEnvironments(c: BackstageCredentials) {
    return this.call<Environment[]>(c, 'GET', '/environments');
  }

  uploadArtifact(c: BackstageCredentials, upload: ArtifactUpload) {
    return this.call<{ artifact: Artifact; autoReleases: ReleaseResult[] }>(
      c,
      'POST',
      '/artifacts',
      upload,
    );
  }

  putAutoRelease(
    c: BackstageCredentials,
    service: string,
    body: { branch: string; environment: string },
  ) {
    return this.call<ServicePolicies>(
      c,
      'PUT',
      `/services/${encodeURIComponent(service)}/policies/auto-releases`,
      body,
    );
  }

  putBranchRestriction(
    c: BackstageCredentials,
    service: string,
    body: { branchRegex: string; environment: string },
  ) {
    return this.call<ServicePolicies>(
      c,
      'PUT',
      `/services/${encodeURIComponent(service)}/policies/branch-restrictions`,
      body,
    );
  }

  /**
   * Several policy changes as one commit (`PATCH /services/:service/policies`): branch
   * restrictions, then auto-releases; one refused change writes nothing.
   */
  patchPolicies(
    c: BackstageCredentials,
    service: string,
    body: {
      branchRestrictions?: { branchRegex: string; environment: string }[];
      autoReleases?: { branch: string; environment: string }[];
    },
  ) {
    return this.call<ServicePolicies>(
      c,
      'PATCH',
      `/services/${encodeURIComponent(service)}/policies`,
      body,
    );
  }

  deletePolicy(c: BackstageCredentials, service: string, policyId: string) {
    return this.call<ServicePolicies>(
      c,
      'DELETE',
      `/services/${encodeURIComponent(service)}/policies/${encodeURIComponent(
        policyId,
      )}`,
    );
  }

  /** Progress of the service's recent pushes, newest first (`GET /services/:service/pushes`). */
  /**
   * Pushes of a service. With `wait`, a long poll: the answer comes once a push changed after
   * `changedAfter` (the newest `updatedAt` seen) or after `waitMs`.
   */
  getPushes(
    c: BackstageCredentials,
    service: string,
    wait?: { changedAfter: string; waitMs: number },
  ) {
    const query = wait
      ? `?changedAfter=${encodeURIComponent(
          wait.changedAfter,
        )}&waitMs=${Math.max(0, Math.min(10_000, Math.round(wait.waitMs)))}`
      : '';
    return this.call<{ items: PushProgress[] }>(
      c,
      'GET',
      `/services/${encodeURIComponent(service)}/pushes${query}`,
    );
  }

  /** What runs where, as the config repo says (`GET /services/:service/status`). */
  getStatus(c: BackstageCredentials, service: string) {
    return this.call<EnvironmentStatus[]>(
      c,
      'GET',
      `/services/${encodeURIComponent(service)}/status`,
    );
  }

  /** The service's policies (`GET /services/:service/policies`). */
  getPolicies(c: BackstageCredentials, service: string) {
    return this.call<ServicePolicies>(
      c,
      'GET',
      `/services/${encodeURIComponent(service)}/policies`,
    );
  }

  release(c: BackstageCredentials, body: ReleaseRequest) {
    return this.call<ReleaseResult>(c, 'POST', '/releases', body);
  }
}
