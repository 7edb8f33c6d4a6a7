export { releaseManagerApiRef } from './ReleaseManagerApi';
export type { ReleaseManagerApi, PageOptions } from './ReleaseManagerApi';
export { ReleaseManagerClient } from './ReleaseManagerClient';
