import { screen } from '@testing-library/react';
import type { Entity } from '@backstage/catalog-model';
import {
  createExtensionTester,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { shuttleWarningsCard } from '.';
import { ShuttleWarningsCard } from './ShuttleWarningsCard';

const url =
  'http://localhost:7007/api/git-host/repos/ledger/blob/main/shuttle.yaml';

/** As the shuttle catalog module leaves an entity whose shuttle.yaml has an unknown field. */
const withWarnings: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'ledger',
    annotations: {
      'devplane.io/shuttle-warnings': `shuttle.yaml at ${url}: unknown top-level field 'varz': shuttle refuses fields other than 'plan', 'vars', 'scripts'`,
    },
  },
  spec: { type: 'service', owner: 'group:default/payments', lifecycle: 'production' },
  status: {
    items: [
      {
        type: 'devplane.io/shuttle',
        level: 'warning',
        message: `shuttle.yaml at ${url}: unknown top-level field 'varz': shuttle refuses fields other than 'plan', 'vars', 'scripts'`,
      },
      {
        type: 'devplane.io/shuttle',
        level: 'warning',
        message: `shuttle.yaml at ${url}: unknown top-level fields 'scripz', 'owner': shuttle refuses fields other than 'plan', 'vars', 'scripts'`,
      },
    ],
  },
} as Entity;

const clean: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'payment-gateway' },
  spec: { type: 'service', owner: 'group:default/payments', lifecycle: 'production' },
};

describe('shuttle warnings on the entity page', () => {
  it('shows every shuttle.yaml warning of the entity once, as a warning the owner sees', async () => {
    await renderInTestApp(
      <EntityProvider entity={withWarnings}>
        <ShuttleWarningsCard />
      </EntityProvider>,
    );
    expect(
      await screen.findByText(/shuttle\.yaml: 2 problems shuttle would refuse/),
    ).toBeInTheDocument();
    const items = screen.getByTestId('shuttle-warnings').querySelectorAll('li');
    expect([...items].map(li => li.textContent)).toEqual([
      `shuttle.yaml at ${url}: unknown top-level field 'varz': shuttle refuses fields other than 'plan', 'vars', 'scripts'`,
      `shuttle.yaml at ${url}: unknown top-level fields 'scripz', 'owner': shuttle refuses fields other than 'plan', 'vars', 'scripts'`,
    ]);
  });

  it('renders nothing for an entity without warnings', async () => {
    await renderInTestApp(
      <EntityProvider entity={clean}>
        <div data-testid="page">
          <ShuttleWarningsCard />
        </div>
      </EntityProvider>,
    );
    expect((await screen.findByTestId('page')).textContent).toBe('');
  });

  it('is an entity card only on entities that have warnings, loaded from the extension', async () => {
    const tester = createExtensionTester(shuttleWarningsCard);
    const filter = tester.get(EntityCardBlueprint.dataRefs.filterFunction);
    expect(filter?.(withWarnings)).toBe(true);
    expect(filter?.(clean)).toBe(false);
    renderInTestApp(
      <EntityProvider entity={withWarnings}>
        {tester.reactElement()}
      </EntityProvider>,
    );
    expect(
      await screen.findByText(/unknown top-level fields 'scripz'/),
    ).toBeInTheDocument();
  });
});
