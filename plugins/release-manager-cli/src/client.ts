import {
  AuditExportQueryParams,
  PRODUCTION_FROZEN_ERROR,
  ReleaseManagerRequest,
  ReleaseManagerRoutes,
  ReleaseManagerTransport,
  releaseManagerUrl,
} from '@devplane/plugin-release-manager-common';
import { CliError, ExitCode, ExitCodeValue } from './errors';

export type { PushArtifactResponse } from '@devplane/plugin-release-manager-common';

/** Default base URL of the release manager API on a local backend. */
export const DEFAULT_URL = 'http://localhost:7007/api/release-manager';

export interface ClientOptions {
  /** Base URL including `/api/release-manager`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>` when set; a function is asked before each request. */
  token?: string | (() => Promise<string | undefined>);
  /** Per request timeout; an expired one counts as unreachable. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Thin typed client of the release manager REST API; failures become {@link CliError}s. */
export class ReleaseManagerClient extends ReleaseManagerRoutes {
  constructor(private readonly options: ClientOptions) {
    super(cliTransport(options));
  }

  /**
   * `GET /audit/export`, streamed: each chunk of the body goes to `write` as it arrives (the
   * export is never held whole); `write` may return a promise to slow the download down.
   */
  async streamAuditExport(
    query: AuditExportQueryParams & { format: 'csv' | 'ndjson' },
    write: (chunk: Uint8Array) => void | Promise<void>,
  ): Promise<number> {
    const baseUrl = this.options.baseUrl.replace(/\/+$/, '');
    const url = new URL(releaseManagerUrl(baseUrl, '/audit/export', { ...query }));
    const headers: Record<string, string> = {};
    const token = typeof this.options.token === 'function' ? await this.options.token() : this.options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(url, { headers });
    } catch (error) {
      throw new CliError(
        `cannot reach the release manager at ${baseUrl} (${networkReason(error)}); is the backend running? Set --url or RELEASE_MANAGER_URL.`,
        ExitCode.Unreachable,
      );
    }
    if (!response.ok || !response.body) {
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      throw errorFromResponse(response.status, response.statusText, body, `GET ${url.pathname}`);
    }
    let bytes = 0;
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.byteLength;
        await write(value);
      }
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new CliError(
        `the export broke off after ${bytes} bytes (${networkReason(error)}); the output is incomplete`,
        ExitCode.Error,
      );
    }
    return bytes;
  }
}

/** One HTTP call over global fetch; JSON in, JSON out, failures as {@link CliError}s. */
function cliTransport(options: ClientOptions): ReleaseManagerTransport {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? fetch;
  return async <T>({
    method,
    path,
    query,
    body: payload,
  }: ReleaseManagerRequest) => {
    const url = new URL(releaseManagerUrl(baseUrl, path, query));
    const headers: Record<string, string> = { accept: 'application/json' };
    const token =
      typeof options.token === 'function' ? await options.token() : options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    if (payload !== undefined) headers['content-type'] = 'application/json';

    let response: Response;
    try {
      response = await fetchImpl(url, {
        method,
        headers,
        body: payload === undefined ? undefined : JSON.stringify(payload),
        signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
      });
    } catch (error) {
      throw new CliError(
        `cannot reach the release manager at ${baseUrl} (${networkReason(
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
  };
}

/** Printed under a refusal by the production incident freeze. */
export const FROZEN_HINT =
  'hint: to release anyway, repeat the command with --override-freeze "<reason>"; ' +
  'the reason is recorded in the release commit and the squad is notified';

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
  if (name === PRODUCTION_FROZEN_ERROR) {
    return new CliError(`${message}\n${FROZEN_HINT}`, exitCode, body);
  }
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
  // an approval request that expired: ask again, like a conflict
  if (status === 410) return ExitCode.Conflict;
  if (status === 409) {
    return name === 'NotAllowedError' ||
      name === PRODUCTION_FROZEN_ERROR ||
      isBranchRestriction(message)
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
    return 'not signed in (run release-manager login, or pass --token / set RELEASE_MANAGER_TOKEN): ';
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
