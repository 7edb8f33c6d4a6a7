import {
  createApiFactory,
  createComponentExtension,
  createPlugin,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/core-plugin-api';
import { OnCallClient, onCallApiRef } from './api';

/** The on-call plugin for the legacy frontend system. @public */
export const oncallPlugin = createPlugin({
  id: 'oncall',
  apis: [
    createApiFactory({
      api: onCallApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new OnCallClient({ discoveryApi, fetchApi }),
    }),
  ],
});

/** Who is on call for the entity, and a button that pages them. @public */
export const EntityOnCallCard = oncallPlugin.provide(
  createComponentExtension({
    name: 'EntityOnCallCard',
    component: {
      lazy: () =>
        import('./components/EntityOnCallCard').then(m => m.EntityOnCallCard),
    },
  }),
);
