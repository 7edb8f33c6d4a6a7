import { createRouteRef } from '@backstage/core-plugin-api';

/** Mount point of the legacy "Releases" entity content. */
export const rootRouteRef = createRouteRef({ id: 'release-manager' });

/** Mount point of the "Audit export" page. */
export const auditRouteRef = createRouteRef({ id: 'release-manager-audit' });
