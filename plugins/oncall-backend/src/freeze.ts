import { AuthService, DiscoveryService } from '@backstage/backend-plugin-api';
import { ResponseError } from '@backstage/errors';
import { ServiceFreeze } from '@devplane/plugin-oncall-common';

/**
 * Asks the on-call backend whether a service has an open incident, for a
 * production freeze (e.g. in the release manager). Uses the calling plugin's
 * own service credentials.
 *
 * @public
 */
export async function getServiceFreeze(options: {
  discovery: DiscoveryService;
  auth: AuthService;
  service: string;
  fetch?: typeof fetch;
}): Promise<ServiceFreeze> {
  const baseUrl = await options.discovery.getBaseUrl('oncall');
  const { token } = await options.auth.getPluginRequestToken({
    onBehalfOf: await options.auth.getOwnServiceCredentials(),
    targetPluginId: 'oncall',
  });
  const res = await (options.fetch ?? fetch)(
    `${baseUrl}/services/${encodeURIComponent(options.service)}/freeze`,
    { headers: { Authorization: `Bearer ${token}` } },
  );
  if (!res.ok) {
    throw await ResponseError.fromResponse(res);
  }
  return (await res.json()) as ServiceFreeze;
}
