import type {
  ApprovalRequest,
  Artifact,
  FreezeWindowView,
  ArtifactUpload,
  Environment,
  EnvironmentStatus,
  ManifestDiff,
  Page,
  PolicyVerdict,
  PromoteRequest,
  AuditExportRow,
  Release,
  ReleaseIntent,
  ReleaseRequest,
  ReleaseResult,
  RollbackRequest,
  ServicePolicies,
} from './types';
import type { PushProgress } from './push';
import type { DoraReport, SinceYesterdayReport } from './dora';

/** Query parameters of a route; `undefined` and `''` values are left out. */
export type ReleaseManagerQuery = Record<string, string | number | undefined>;

/** One call of the REST API, relative to its base URL (`…/api/release-manager`). */
export interface ReleaseManagerRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path below the base URL with encoded segments, e.g. `/services/a%20b/status`. */
  path: string;
  query?: ReleaseManagerQuery;
  /** Sent as JSON when set. */
  body?: unknown;
}

/**
 * Performs one request and returns the parsed JSON answer. Each caller brings
 * its own: the portal uses `fetchApi` and `ResponseError`, the CLI global fetch
 * and exit codes.
 */
export type ReleaseManagerTransport = <T>(
  request: ReleaseManagerRequest,
) => Promise<T>;

/** Query of the auditor's export (`GET /audit/export`): dates as YYYY-MM-DD or ISO with a zone. */
export interface AuditExportQueryParams {
  from?: string;
  to?: string;
  environment?: string;
  service?: string;
  squad?: string;
}

/** Response of `GET /audit/preview`: rows `offset`… of the export, and whether more follow. */
export interface AuditPreviewPage {
  items: AuditExportRow[];
  offset: number;
  more: boolean;
}

/** Paging options of list routes. */
export interface PageOptions {
  limit?: number;
  cursor?: string;
}

/** Response of `POST /artifacts`. */
export interface PushArtifactResponse {
  artifact: Artifact;
  autoReleases: ReleaseResult[];
}

/** `base + path + ?query`, leaving out empty query values. */
export function releaseManagerUrl(
  baseUrl: string,
  path: string,
  query?: ReleaseManagerQuery,
): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const qs = params.toString();
  return `${baseUrl.replace(/\/+$/, '')}${path}${qs ? `?${qs}` : ''}`;
}

const enc = encodeURIComponent;
const svc = (service: string) => `/services/${enc(service)}`;

/**
 * The route set of the release manager REST API (docs/helpers-brief.md), one
 * method per route, independent of how requests travel.
 */
export class ReleaseManagerRoutes {
  constructor(private readonly transport: ReleaseManagerTransport) {}

  getEnvironments(): Promise<Environment[]> {
    return this.transport({ method: 'GET', path: '/environments' });
  }

  pushArtifact(upload: ArtifactUpload): Promise<PushArtifactResponse> {
    return this.transport({ method: 'POST', path: '/artifacts', body: upload });
  }

  getArtifacts(
    service: string,
    options: PageOptions & { branch?: string } = {},
  ): Promise<Page<Artifact>> {
    const { branch, limit, cursor } = options;
    return this.transport({
      method: 'GET',
      path: `${svc(service)}/artifacts`,
      query: { branch, limit, cursor },
    });
  }

  getArtifact(service: string, artifactId: string): Promise<Artifact> {
    return this.transport({
      method: 'GET',
      path: `${svc(service)}/artifacts/${enc(artifactId)}`,
    });
  }

  getStatus(service: string): Promise<EnvironmentStatus[]> {
    return this.transport({ method: 'GET', path: `${svc(service)}/status` });
  }

  /** Per-step progress of the latest pushes that became (or did not become) artifacts. */
  getPushes(service: string): Promise<{ items: PushProgress[] }> {
    return this.transport({ method: 'GET', path: `${svc(service)}/pushes` });
  }

  getReleases(
    service: string,
    options: PageOptions & { environment?: string } = {},
  ): Promise<Page<Release>> {
    const { environment, limit, cursor } = options;
    return this.transport({
      method: 'GET',
      path: `${svc(service)}/releases`,
      query: { environment, limit, cursor },
    });
  }

  /** The release history (newest first, paged), filtered by environment, kind and person. */
  getHistory(
    service: string,
    options: PageOptions & { environment?: string; kind?: ReleaseIntent; actor?: string } = {},
  ): Promise<Page<Release>> {
    const { environment, kind, actor, limit, cursor } = options;
    return this.transport({
      method: 'GET',
      path: `${svc(service)}/history`,
      query: { environment, kind, actor, limit, cursor },
    });
  }

  /** A page of the auditor's export as JSON rows (the portal's preview; downloads are the export itself). */
  getAuditPreview(
    query: AuditExportQueryParams & { limit?: number; offset?: number },
  ): Promise<AuditPreviewPage> {
    return this.transport({ method: 'GET', path: '/audit/preview', query: { ...query } });
  }

  /** DORA metrics of a service or a squad over `days` (30 or 90). */
  getDora(scope: { service: string } | { squad: string }, days: number): Promise<DoraReport> {
    return this.transport({
      method: 'GET',
      path: '/dora',
      query: { ...scope, days },
    });
  }

  /** The signed-in person's squads since a time ("since yesterday"), optionally one squad. */
  getSinceYesterday(since: Date, squad?: string): Promise<SinceYesterdayReport> {
    return this.transport({
      method: 'GET',
      path: '/me/since',
      query: { since: since.toISOString(), squad },
    });
  }

  getTeamReleases(team: string, since: Date): Promise<Release[]> {
    return this.transport({
      method: 'GET',
      path: `/teams/${enc(team)}/releases`,
      query: { since: since.toISOString() },
    });
  }

  release(request: ReleaseRequest): Promise<ReleaseResult> {
    return this.transport({ method: 'POST', path: '/releases', body: request });
  }

  promote(request: PromoteRequest): Promise<ReleaseResult> {
    return this.transport({
      method: 'POST',
      path: '/promotions',
      body: request,
    });
  }

  rollback(request: RollbackRequest): Promise<ReleaseResult> {
    return this.transport({
      method: 'POST',
      path: '/rollbacks',
      body: request,
    });
  }

  getDiff(
    service: string,
    environment: string,
    artifactId: string,
  ): Promise<ManifestDiff> {
    return this.transport({
      method: 'GET',
      path: `${svc(service)}/diff`,
      query: { environment, artifactId },
    });
  }

  getVerdict(
    service: string,
    environment: string,
    artifactId: string,
  ): Promise<PolicyVerdict> {
    return this.transport({
      method: 'GET',
      path: `${svc(service)}/verdict`,
      query: { environment, artifactId },
    });
  }

  getPolicies(service: string): Promise<ServicePolicies> {
    return this.transport({ method: 'GET', path: `${svc(service)}/policies` });
  }

  setAutoReleasePolicy(
    service: string,
    policy: { branch: string; environment: string },
  ): Promise<ServicePolicies> {
    return this.transport({
      method: 'PUT',
      path: `${svc(service)}/policies/auto-releases`,
      body: policy,
    });
  }

  setBranchRestrictionPolicy(
    service: string,
    policy: { branchRegex: string; environment: string },
  ): Promise<ServicePolicies> {
    return this.transport({
      method: 'PUT',
      path: `${svc(service)}/policies/branch-restrictions`,
      body: policy,
    });
  }

  /** Approval requests: `mine=true` → those the caller may approve; filter by service/status. */
  getApprovals(
    options: PageOptions & {
      service?: string;
      status?: string;
      mine?: boolean;
    } = {},
  ): Promise<Page<ApprovalRequest>> {
    const { service, status, mine, limit, cursor } = options;
    return this.transport({
      method: 'GET',
      path: '/approvals',
      query: {
        service,
        status,
        mine: mine ? 'true' : undefined,
        limit,
        cursor,
      },
    });
  }

  getApproval(id: string): Promise<ApprovalRequest> {
    return this.transport({ method: 'GET', path: `/approvals/${enc(id)}` });
  }

  /** Approves: writes exactly the reviewed artifact onto the reviewed environment commit. */
  approve(id: string, comment?: string): Promise<ReleaseResult> {
    return this.transport({
      method: 'POST',
      path: `/approvals/${enc(id)}/approve`,
      body: comment ? { comment } : {},
    });
  }

  reject(id: string, comment: string): Promise<ApprovalRequest> {
    return this.transport({
      method: 'POST',
      path: `/approvals/${enc(id)}/reject`,
      body: { comment },
    });
  }

  /** Freeze windows in force now and coming up (optionally for one service's system). */
  getFreezeWindows(
    options: { service?: string; environment?: string; days?: number } = {},
  ): Promise<FreezeWindowView[]> {
    return this.transport({
      method: 'GET',
      path: '/freeze-windows',
      query: options,
    });
  }

  deletePolicy(service: string, policyId: string): Promise<ServicePolicies> {
    return this.transport({
      method: 'DELETE',
      path: `${svc(service)}/policies/${enc(policyId)}`,
    });
  }
}

/** The public method set of {@link ReleaseManagerRoutes}, for fakes and API refs. */
export type ReleaseManagerRoutesApi = Pick<
  ReleaseManagerRoutes,
  keyof ReleaseManagerRoutes
>;
