import { createApiRef } from '@backstage/core-plugin-api';
import type {
  AuditExportFormat,
  AuditExportQueryParams,
  ReleaseManagerRoutesApi,
} from '@devplane/plugin-release-manager-common';

export type { PageOptions } from '@devplane/plugin-release-manager-common';

/** A downloaded audit export: the file's bytes and the name the backend gave it. */
export interface AuditExportDownload {
  blob: Blob;
  filename: string;
}

/**
 * Client of the release manager REST API (`/api/release-manager`): the route
 * set of `ReleaseManagerRoutes` without the CI-only artifact upload, plus the
 * auditor's export as a file (fetched with the caller's token).
 *
 * @public
 */
export type ReleaseManagerApi = Omit<ReleaseManagerRoutesApi, 'pushArtifact'> & {
  downloadAuditExport(
    query: AuditExportQueryParams & { format: AuditExportFormat },
  ): Promise<AuditExportDownload>;
};

/** @public */
export const releaseManagerApiRef = createApiRef<ReleaseManagerApi>({
  id: 'plugin.release-manager.service',
});
