import { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import {
  AuditExportFormat,
  AuditExportQueryParams,
  ReleaseManagerQuery,
  ReleaseManagerRequest,
  ReleaseManagerRoutes,
  releaseManagerUrl,
} from '@devplane/plugin-release-manager-common';
import { AuditExportDownload, ReleaseManagerApi } from './ReleaseManagerApi';

type Options = { discoveryApi: DiscoveryApi; fetchApi: FetchApi };

/** One authenticated call; a non-2xx answer becomes a `ResponseError` (the backend's message). */
async function call(options: Options, request: ReleaseManagerRequest): Promise<Response> {
  const base = await options.discoveryApi.getBaseUrl('release-manager');
  const url = releaseManagerUrl(base, request.path, request.query);
  const { method, body } = request;
  const response = await options.fetchApi.fetch(
    url,
    method === 'GET'
      ? undefined
      : {
          method,
          headers:
            body === undefined
              ? undefined
              : { 'Content-Type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        },
  );
  if (!response.ok) throw await ResponseError.fromResponse(response);
  return response;
}

/** The file name of `Content-Disposition: attachment; filename="…"`, else `fallback`. */
export function attachmentName(header: string | null, fallback: string): string {
  const m = /filename="([^"/\\]+)"/.exec(header ?? '');
  return m ? m[1] : fallback;
}

/**
 * Talks to the release manager backend through the discovery and fetch APIs,
 * so that the caller's Backstage token travels with every request.
 *
 * @public
 */
export class ReleaseManagerClient
  extends ReleaseManagerRoutes
  implements ReleaseManagerApi
{
  constructor(private readonly options: Options) {
    super(async <T>(request: ReleaseManagerRequest) => {
      const response = await call(options, request);
      if (response.status === 204) return undefined as T;
      return (await response.json()) as T;
    });
  }

  /** The whole export as one blob (the backend streams it; the browser keeps it to save). */
  async downloadAuditExport(
    query: AuditExportQueryParams & { format: AuditExportFormat },
  ): Promise<AuditExportDownload> {
    const response = await call(this.options, {
      method: 'GET',
      path: '/audit/export',
      query: { ...query } as ReleaseManagerQuery,
    });
    return {
      blob: await response.blob(),
      filename: attachmentName(response.headers.get('Content-Disposition'), `audit.${query.format}`),
    };
  }
}
