import { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import {
  ReleaseManagerRequest,
  ReleaseManagerRoutes,
  releaseManagerUrl,
} from '@devplane/plugin-release-manager-common';
import { ReleaseManagerApi } from './ReleaseManagerApi';

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
  constructor(options: { discoveryApi: DiscoveryApi; fetchApi: FetchApi }) {
    super(async <T>(request: ReleaseManagerRequest) => {
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
      if (response.status === 204) return undefined as T;
      return (await response.json()) as T;
    });
  }
}
