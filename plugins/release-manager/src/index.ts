/**
 * Release manager in the portal: what runs where, promote, roll back, since yesterday.
 *
 * @packageDocumentation
 */
export {
  releaseManagerPlugin,
  EntityReleasesContent,
  EntitySinceYesterdayCard,
  HomePageSinceYesterdayCard,
  HomePageApprovalsCard,
} from './plugin';
export { releaseManagerApiRef, ReleaseManagerClient } from './api';
export type { ReleaseManagerApi, PageOptions } from './api';
export { SHUTTLE_SERVICE_ANNOTATION, serviceNameOf } from './components/helpers';
export { rootRouteRef } from './routes';
