import type {
  Artifact,
  ArtifactUpload,
  Environment,
  EnvironmentStatus,
  Page,
  PromoteRequest,
  Release,
  ReleaseRequest,
  ReleaseResult,
  RollbackRequest,
  ServicePolicies,
} from '@devplane/plugin-release-manager-common';
import { CliError, ExitCode, ExitCodeValue } from './errors';

/** Default base URL of the release manager API on a local backend. */
export const DEFAULT_URL = 'http://localhost:7007/api/release-manager';

export interface ClientOptions {
  /** Base URL including `/api/release-manager`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  token?: string;
  /** Per request timeout; an expired one counts as unreachable. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Response of `POST /artifacts`. */
export interface PushArtifactResponse {
  artifact: Artifact;
  autoReleases: ReleaseResult[];
}

type Query = Record<string, string | number | undefined>;

/** Thin typed client of the release manager REST API; failures become {@link CliError}s. */
export class ReleaseManagerClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? fetch;
  }

  getEnvironments(): Promise<Environment[]> {
    return this.request('GET', '/environments');
  }

  pushArtifact(upload: ArtifactUpload): Promise<PushArtifactResponse> {
    return this.request('POST', '/artifacts', { body: upload });
  }

  listArtifacts(
    service: string,
    query: { branch?: string; limit?: number; cursor?: string },
  ): Promise<Page<Artifact>> {
    return this.request('GET', `/services/${seg(service)}/artifacts`, {
      query,
    });
  }

  getArtifact(service: string, artifactId: string): Promise<Artifact> {
    return this.request(
      'GET',
      `/services/${seg(service)}/artifacts/${seg(artifactId)}`,
    );
  }

  getStatus(service: string): Promise<EnvironmentStatus[]> {
    return this.request('GET', `/services/${seg(service)}/status`);
  }

  listReleases(
    service: string,
    query: { environment?: string; limit?: number; cursor?: string },
  ): Promise<Page<Release>> {
    return this.request('GET', `/services/${seg(service)}/releases`, { query });
  }

  release(body: ReleaseRequest): Promise<ReleaseResult> {
    return this.request('POST', '/releases', { body });
  }

  promote(body: PromoteRequest): Promise<ReleaseResult> {
    return this.request('POST', '/promotions', { body });
  }

  rollback(body: RollbackRequest): Promise<ReleaseResult> {
    return this.request('POST', '/rollbacks', { body });
  }

  getPolicies(service: string): Promise<ServicePolicies> {
    return this.request('GET', `/services/${seg(service)}/policies`);
  }

  applyAutoRelease(
    service: string,
    body: { branch: string; environment: string },
  ): Promise<ServicePolicies> {
    return this.request(
      'PUT',
      `/services/${seg(service)}/policies/auto-releases`,
      { body },
    );
  }

  applyBranchRestriction(
    service: string,
    body: { branchRegex: string; environment: string },
  ): Promise<ServicePolicies> {
    return this.request(
      'PUT',
      `/services/${seg(service)}/policies/branch-restrictions`,
      {
        body,
      },
    );
  }

  deletePolicy(service: string, policyId: string): Promise<ServicePolicies> {
    return this.request(
      'DELETE',
      `/services/${seg(service)}/policies/${seg(policyId)}`,
    );
  }

  /** One HTTP call; JSON in, JSON out. */
  async request<T>(
    method: string,
    path: string,
    init: { query?: Query; body?: unknown } = {},
  ): Promise<T> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [key, value] of Object.entries(init.query ?? {})) {
      if (value !== undefined && value !== '')
        url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.token)
      headers.authorization = `Bearer ${this.options.token}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';

    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 60_000),
      });
    } catch (error) {
      throw new CliError(
        `cannot reach the release manager at ${this.baseUrl} (${networkReason(
          error,
        )}); ` + 'is the backend running? Set --url or RELEASE_MANAGER_URL.',
        ExitCode.Unreachable,
      );
    }

    const text = await response.text();
    let body: unknown = undefined;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    if (response.ok) {
      if (text && body === undefined) {
        throw new CliError(
          `the server answered ${method} ${url.pathname} with something that is not JSON; ` +
            'is --url pointing at /api/release-manager?',
          ExitCode.Error,
        );
      }
      return body as T;
    }
    throw errorFromResponse(
      response.status,
      response.statusText,
      body,
      `${method} ${url.pathname}`,
    );
  }
}

/** Turns an HTTP error response into a {@link CliError} with a plain-words message and exit code. */
export function errorFromResponse(
  status: number,
  statusText: string,
  body: unknown,
  what: string,
): CliError {
  const error = (
    body as { error?: { name?: unknown; message?: unknown } } | undefined
  )?.error;
  const name = typeof error?.name === 'string' ? error.name : undefined;
  const serverMessage =
    typeof error?.message === 'string' && error.message
      ? error.message
      : `${what} answered ${status} ${statusText}`.trim();
  const exitCode = exitCodeFor(status, serverMessage, name);
  const message = `${prefixFor(
    status,
    exitCode,
  )}${serverMessage} (HTTP ${status})`;
  return new CliError(message, exitCode, body);
}

/** HTTP status (and, for 409, the kind of refusal) → exit code. */
export function exitCodeFor(
  status: number,
  message = '',
  name?: string,
): ExitCodeValue {
  if (status === 400 || status === 413 || status === 422) return ExitCode.Usage;
  if (status === 401 || status === 403) return ExitCode.Refused;
  if (status === 404) return ExitCode.NotFound;
  if (status === 409) {
    return name === 'NotAllowedError' || isBranchRestriction(message)
      ? ExitCode.Refused
      : ExitCode.Conflict;
  }
  return ExitCode.Error;
}

function isBranchRestriction(message: string): boolean {
  return /branch[- ]restriction|restricted to branch|not allowed to reach/i.test(
    message,
  );
}

function prefixFor(status: number, exitCode: ExitCodeValue): string {
  if (status === 401) {
    return 'not signed in (pass --token or set RELEASE_MANAGER_TOKEN): ';
  }
  switch (exitCode) {
    case ExitCode.Usage:
      return 'the server rejected the request: ';
    case ExitCode.NotFound:
      return 'not found: ';
    case ExitCode.Refused:
      return 'refused: ';
    case ExitCode.Conflict:
      return 'conflict: ';
    default:
      return status >= 500 ? 'the release manager failed: ' : '';
  }
}

function networkReason(error: unknown): string {
  const e = error as {
    name?: string;
    message?: string;
    cause?: { code?: string; message?: string };
  };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError')
    return 'timed out';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error);
}

function seg(value: string): string {
  return encodeURIComponent(value);
}
