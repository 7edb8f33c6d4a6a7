import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { shuttleWarningsOf } from './shuttleWarnings';

/** Entity page card with the shuttle.yaml warnings, only on entities that have some. */
export const shuttleWarningsCard = EntityCardBlueprint.make({
  name: 'shuttle-warnings',
  params: {
    type: 'info',
    filter: entity => shuttleWarningsOf(entity).length > 0,
    loader: () =>
      import('./ShuttleWarningsCard').then(m => <m.ShuttleWarningsCard />),
  },
});

/** Shows the shuttle catalog module's warnings to the entity's owners on its page. */
export const shuttleWarningsModule = createFrontendModule({
  pluginId: 'catalog',
  extensions: [shuttleWarningsCard],
});
