export { releaseManagerApiRef } from './ReleaseManagerApi';
export type { ReleaseManagerApi, PageOptions, AuditExportDownload } from './ReleaseManagerApi';
export { ReleaseManagerClient } from './ReleaseManagerClient';
