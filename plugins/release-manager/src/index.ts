/**
 * Release manager in the portal: what runs where, promote, roll back, since yesterday.
 *
 * @packageDocumentation
 */
export {
  releaseManagerPlugin,
  EntityReleasesContent,
  AuditExportPage,
  EntitySinceYesterdayCard,
  HomePageSinceYesterdayCard,
} from './plugin';
export { releaseManagerApiRef, ReleaseManagerClient } from './api';
export type { ReleaseManagerApi, PageOptions, AuditExportDownload } from './api';
export { SHUTTLE_SERVICE_ANNOTATION, serviceNameOf } from './components/helpers';
export { rootRouteRef, auditRouteRef } from './routes';
