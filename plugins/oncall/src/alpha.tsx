import {
  ApiBlueprint,
  createFrontendPlugin,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/frontend-plugin-api';
import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { OnCallClient, onCallApiRef } from './api';

/** The on-call API for the new frontend system. @alpha */
export const onCallApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: onCallApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new OnCallClient({ discoveryApi, fetchApi }),
    }),
});

/** The on-call card on component pages. @alpha */
export const entityOnCallCard = EntityCardBlueprint.make({
  name: 'oncall',
  params: {
    filter: { kind: 'component' },
    loader: async () =>
      import('./components/EntityOnCallCard').then(m => <m.EntityOnCallCard />),
  },
});

/** The on-call plugin for the new frontend system. @alpha */
export default createFrontendPlugin({
  pluginId: 'oncall',
  extensions: [onCallApi, entityOnCallCard],
});
