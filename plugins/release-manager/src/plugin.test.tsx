import { screen } from '@testing-library/react';
import { Route, Routes } from 'react-router-dom';
import { renderInTestApp } from '@backstage/test-utils';
import {
  EntityReleasesContent,
  EntitySinceYesterdayCard,
  releaseManagerPlugin,
} from './index';
import { rootRouteRef } from './routes';
import {
  Providers,
  componentEntity,
  groupEntity,
  mockReleaseManagerApi,
} from './__testUtils__';

describe('legacy frontend system', () => {
  it('is the release-manager plugin with its API', () => {
    expect(releaseManagerPlugin.getId()).toBe('release-manager');
    expect(
      [...releaseManagerPlugin.getApis()].map(f => f.api.id),
    ).toEqual(['plugin.release-manager.service']);
  });

  it('renders the Releases content and the since-yesterday card lazily', async () => {
    const api = mockReleaseManagerApi();
    await renderInTestApp(
      <Providers api={api} entity={componentEntity}>
        <Routes>
          <Route path="/releases" element={<EntityReleasesContent />} />
        </Routes>
      </Providers>,
      { routeEntries: ['/releases'], mountedRoutes: { '/releases': rootRouteRef } },
    );
    expect(await screen.findByTestId('env-card-prod')).toBeInTheDocument();

    await renderInTestApp(
      <Providers api={api} entity={groupEntity}>
        <EntitySinceYesterdayCard />
      </Providers>,
    );
    expect(await screen.findByText('Since yesterday')).toBeInTheDocument();
    expect(api.getTeamReleases).toHaveBeenCalledWith('payments', expect.any(Date));
  });
});
