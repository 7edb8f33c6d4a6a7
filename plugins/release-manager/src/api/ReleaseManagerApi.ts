import { createApiRef } from '@backstage/core-plugin-api';
import type { ReleaseManagerRoutesApi } from '@devplane/plugin-release-manager-common';

export type { PageOptions } from '@devplane/plugin-release-manager-common';

/**
 * Client of the release manager REST API (`/api/release-manager`): the route
 * set of `ReleaseManagerRoutes` without the CI-only artifact upload.
 *
 * @public
 */
export type ReleaseManagerApi = Omit<ReleaseManagerRoutesApi, 'pushArtifact'>;

/** @public */
export const releaseManagerApiRef = createApiRef<ReleaseManagerApi>({
  id: 'plugin.release-manager.service',
});
