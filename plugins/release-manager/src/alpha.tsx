import {
  ApiBlueprint,
  PageBlueprint,
  createFrontendPlugin,
  createRouteRef,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/frontend-plugin-api';
import {
  EntityCardBlueprint,
  EntityContentBlueprint,
} from '@backstage/plugin-catalog-react/alpha';
import { HomePageWidgetBlueprint } from '@backstage/plugin-home-react/alpha';
import AssignmentTurnedInIcon from '@material-ui/icons/AssignmentTurnedIn';
import { ReleaseManagerClient, releaseManagerApiRef } from './api';

/** The release manager client. */
export const releaseManagerApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: releaseManagerApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new ReleaseManagerClient({ discoveryApi, fetchApi }),
    }),
});

/** Route of the audit export page (the app's nav lists only pages with a route ref). */
export const auditPageRouteRef = createRouteRef();

/** The auditor's export page (`/audit`), with its sidebar entry "Audit export". */
export const auditExportPage = PageBlueprint.make({
  name: 'audit',
  params: {
    path: '/audit',
    title: 'Audit export',
    icon: <AssignmentTurnedInIcon />,
    routeRef: auditPageRouteRef,
    noHeader: true,
    loader: () => import('./components').then(m => <m.AuditExportPage />),
  },
});

/** "Releases" tab of component pages. */
export const entityReleasesContent = EntityContentBlueprint.make({
  name: 'releases',
  params: {
    path: 'releases',
    title: 'Releases',
    filter: { kind: 'component' },
    loader: () =>
      import('./components').then(m => <m.ReleasesContent />),
  },
});

/** Overview card of services: what runs in each environment with rollout health, last changes. */
export const entityReleaseHealthCard = EntityCardBlueprint.make({
  name: 'release-health',
  params: {
    type: 'content',
    filter: { kind: 'component', 'spec.type': { $in: ['service', 'website'] } },
    loader: () =>
      import('./components').then(m => <m.EntityReleaseHealthCard />),
  },
});

/** Group page card: the squad's services with the same health at a glance. */
export const entityGroupServicesHealthCard = EntityCardBlueprint.make({
  name: 'squad-health',
  params: {
    type: 'content',
    filter: { kind: 'group' },
    loader: () =>
      import('./components').then(m => <m.GroupServicesHealthCard />),
  },
});

/** "Since yesterday" card of group pages. */
export const entitySinceYesterdayCard = EntityCardBlueprint.make({
  name: 'since-yesterday',
  params: {
    filter: { kind: 'group' },
    loader: () =>
      import('./components').then(m => <m.EntitySinceYesterdayCard />),
  },
});

/** Group page card: the squad's DORA metrics (30/90 days). */
export const entityGroupDoraCard = EntityCardBlueprint.make({
  name: 'squad-dora',
  params: {
    type: 'content',
    filter: { kind: 'group' },
    loader: () => import('./components').then(m => <m.GroupDoraCard />),
  },
});

/** Home page widget: DORA metrics of the signed-in person's squads. */
export const homeDoraWidget = HomePageWidgetBlueprint.make({
  name: 'dora',
  params: {
    name: 'ReleaseManagerDora',
    title: 'DORA metrics',
    description: 'Deployment frequency, lead time, change failure rate and time to restore of your squads',
    components: () => import('./components').then(m => ({ Content: m.HomeDoraContent })),
    layout: {
      width: { defaultColumns: 6, minColumns: 4 },
      height: { defaultRows: 4, minRows: 3 },
    },
  },
});

/** "Since yesterday" widget of the home page. */
export const homeSinceYesterdayWidget = HomePageWidgetBlueprint.make({
  name: 'since-yesterday',
  params: {
    name: 'ReleaseManagerSinceYesterday',
    title: 'Since yesterday',
    description:
      'What was released, rolled back or failed for your teams since your last visit',
    components: () =>
      import('./components').then(m => ({
        Content: m.HomeSinceYesterdayContent,
      })),
    layout: {
      width: { defaultColumns: 6, minColumns: 4 },
      height: { defaultRows: 4, minRows: 2 },
    },
  },
});

/**
 * The release manager plugin for the new frontend system.
 *
 * @alpha
 */
export default createFrontendPlugin({
  pluginId: 'release-manager',
  title: 'Release manager',
  info: { packageJson: () => import('../package.json') },
  routes: { audit: auditPageRouteRef },
  extensions: [
    releaseManagerApi,
    auditExportPage,
    entityReleasesContent,
    entityReleaseHealthCard,
    entityGroupServicesHealthCard,
    entitySinceYesterdayCard,
    homeSinceYesterdayWidget,
    entityGroupDoraCard,
    homeDoraWidget,
  ],
});
