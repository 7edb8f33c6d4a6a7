import {
  createApiFactory,
  createComponentExtension,
  createPlugin,
  createRoutableExtension,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/core-plugin-api';
import { createCardExtension } from '@backstage/plugin-home-react';
import { ReleaseManagerClient, releaseManagerApiRef } from './api';
import { auditRouteRef, rootRouteRef } from './routes';

/** The release manager plugin for the legacy frontend system. */
export const releaseManagerPlugin = createPlugin({
  id: 'release-manager',
  apis: [
    createApiFactory({
      api: releaseManagerApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new ReleaseManagerClient({ discoveryApi, fetchApi }),
    }),
  ],
  routes: { root: rootRouteRef, audit: auditRouteRef },
});

/** "Releases" tab of a service page: `<EntityLayout.Route path="/releases" title="Releases">`. */
export const EntityReleasesContent = releaseManagerPlugin.provide(
  createRoutableExtension({
    name: 'EntityReleasesContent',
    component: () => import('./components').then(m => m.ReleasesContent),
    mountPoint: rootRouteRef,
  }),
);

/** The auditor's export page: `<Route path="/audit" element={<AuditExportPage />} />`. */
export const AuditExportPage = releaseManagerPlugin.provide(
  createRoutableExtension({
    name: 'AuditExportPage',
    component: () => import('./components').then(m => m.AuditExportPage),
    mountPoint: auditRouteRef,
  }),
);

/** "Since yesterday" card of a group page. */
export const EntitySinceYesterdayCard = releaseManagerPlugin.provide(
  createComponentExtension({
    name: 'EntitySinceYesterdayCard',
    component: {
      lazy: () => import('./components').then(m => m.EntitySinceYesterdayCard),
    },
  }),
);

/** "Since yesterday" card for the legacy home page. */
export const HomePageSinceYesterdayCard = releaseManagerPlugin.provide(
  createCardExtension({
    name: 'HomePageSinceYesterdayCard',
    title: 'Since yesterday',
    components: () =>
      import('./components').then(m => ({
        Content: m.HomeSinceYesterdayContent,
      })),
  }),
);
