import { screen, waitFor, within } from '@testing-library/react';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import { catalogApiRef, entityRouteRef } from '@backstage/plugin-catalog-react';
import { catalogApiMock } from '@backstage/plugin-catalog-react/testUtils';
import { Entity } from '@backstage/catalog-model';
import { EntityReleaseHealthCard, GroupServicesHealthCard } from './ReleaseHealth';
import {
  Providers,
  componentEntity,
  groupEntity,
  makeRelease,
  masterNew,
  mockReleaseManagerApi,
  mockSignalApi,
} from '../__testUtils__';

const service = (name: string, owner = 'group:default/payments', type = 'service'): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name, namespace: 'default' },
  spec: { type, lifecycle: 'production', owner },
  relations: [{ type: 'ownedBy', targetRef: owner }],
});

describe('EntityReleaseHealthCard', () => {
  it('shows every environment with what runs there and its rollout health, and the last changes', async () => {
    const api = mockReleaseManagerApi();
    api.getReleases.mockResolvedValue({
      items: [makeRelease(masterNew, 'dev', { intent: 'auto-release', releasedBy: 'ci@demo.bank' })],
    });
    const signalApi = mockSignalApi();
    await renderInTestApp(
      <Providers api={api} entity={componentEntity} signalApi={signalApi}>
        <EntityReleaseHealthCard />
      </Providers>,
    );
    const dev = await screen.findByTestId('health-dev');
    expect(dev.textContent).toMatch(/master@aaaaaaa/);
    expect(within(dev).getByLabelText(/rollout /)).toBeInTheDocument();
    const staging = screen.getByTestId('health-staging');
    expect(within(staging).getByLabelText('rollout failed 0/2')).toBeInTheDocument();
    expect(screen.getByTestId('health-prod').textContent).toMatch(/nothing released/);
    // the service name comes from the shuttle annotation, not the entity name
    expect(api.getStatus).toHaveBeenCalledWith('payment-gateway');
    expect(api.getReleases).toHaveBeenCalledWith('payment-gateway', { limit: 3 });
    const changes = screen.getByRole('list', { name: 'last changes' });
    expect(changes.textContent).toMatch(/ci@demo\.bank/);
    expect(screen.getByText('Release, promote or roll back')).toBeInTheDocument();

    // a release elsewhere (signal) refreshes the card
    const calls = api.getStatus.mock.calls.length;
    signalApi.send('release-manager:payment-gateway', { type: 'release' });
    await waitFor(() => expect(api.getStatus.mock.calls.length).toBeGreaterThan(calls));
  });

  it('shows the error instead of an empty card when the release manager fails', async () => {
    const api = mockReleaseManagerApi();
    api.getStatus.mockRejectedValue(new Error('release manager unavailable'));
    await renderInTestApp(
      <Providers api={api} entity={componentEntity} signalApi={mockSignalApi()}>
        <EntityReleaseHealthCard />
      </Providers>,
    );
    expect(await screen.findByText('Error: release manager unavailable', { selector: 'h6' })).toBeInTheDocument();
    expect(screen.queryByTestId('health-dev')).not.toBeInTheDocument();
  });
});

describe('GroupServicesHealthCard', () => {
  it("lists the squad's services (not its docs) with each environment's rollout state", async () => {
    const api = mockReleaseManagerApi();
    const catalogApi = catalogApiMock({
      entities: [
        service('payment-gateway'),
        service('ledger'),
        service('handbook', 'group:default/payments', 'documentation'),
        service('loan-engine', 'group:default/lending'),
      ],
    });
    await renderInTestApp(
      <TestApiProvider apis={[[catalogApiRef, catalogApi]]}>
        <Providers api={api} entity={groupEntity} signalApi={mockSignalApi()}>
          <GroupServicesHealthCard />
        </Providers>
      </TestApiProvider>,
      { mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef } },
    );
    const ledger = await screen.findByTestId('squad-service-ledger');
    expect(screen.getByTestId('squad-service-payment-gateway')).toBeInTheDocument();
    expect(screen.queryByTestId('squad-service-loan-engine')).not.toBeInTheDocument();
    expect(screen.queryByTestId('squad-service-handbook')).not.toBeInTheDocument();
    await waitFor(() => expect(within(ledger).getByLabelText('rollout failed 0/2')).toBeInTheDocument());
    expect(screen.getAllByRole('columnheader').map(h => h.textContent)).toEqual([
      'Service', 'dev', 'staging', 'prod',
    ]);
  });

  it('explains how a squad comes to own services when it owns none', async () => {
    await renderInTestApp(
      <TestApiProvider apis={[[catalogApiRef, catalogApiMock({ entities: [] })]]}>
        <Providers api={mockReleaseManagerApi()} entity={groupEntity} signalApi={mockSignalApi()}>
          <GroupServicesHealthCard />
        </Providers>
      </TestApiProvider>,
    );
    expect(await screen.findByText('This group owns no services')).toBeInTheDocument();
  });
});
