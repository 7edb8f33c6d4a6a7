import { screen, within } from '@testing-library/react';
import { renderInTestApp, mockApis } from '@backstage/test-utils';
import { EntitySinceYesterdayCard } from './SinceYesterday';
import {
  Providers,
  feature,
  groupEntity,
  makeRelease,
  masterNew,
  masterOld,
  mockReleaseManagerApi,
} from '../__testUtils__';

const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000).toISOString();

describe('Since yesterday', () => {
  it('lists the team releases since 24 hours ago on a first visit, newest first', async () => {
    const api = mockReleaseManagerApi();
    api.getTeamReleases.mockResolvedValue([
      makeRelease(masterOld, 'prod', { intent: 'rollback', releasedAt: hoursAgo(5) }),
      makeRelease(masterNew, 'dev', { releasedAt: hoursAgo(1) }),
      makeRelease(feature, 'staging', {
        releasedAt: hoursAgo(3),
        rollout: { state: 'failed', message: 'CrashLoopBackOff' },
      }),
    ]);
    const storageApi = mockApis.storage();
    const before = Date.now();
    await renderInTestApp(
      <Providers api={api} entity={groupEntity} storageApi={storageApi}>
        <EntitySinceYesterdayCard />
      </Providers>,
    );
    const list = await screen.findByTestId('since-yesterday-list');
    const [team, since] = api.getTeamReleases.mock.calls[0];
    expect(team).toBe('payments');
    expect(Math.abs(since.getTime() - (before - 24 * 3600_000))).toBeLessThan(60_000);

    const items = within(list).getAllByRole('listitem');
    expect(items.map(i => i.textContent)).toEqual([
      expect.stringMatching(/^released.*payment-gateway → dev/),
      expect.stringMatching(/^failed.*payment-gateway → staging.*CrashLoopBackOff/),
      expect.stringMatching(/^rolled back.*payment-gateway → prod/),
    ]);
    // This visit is remembered for the next one.
    const stored = storageApi
      .forBucket('release-manager')
      .snapshot<string>('last-visit.team.payments').value;
    expect(Date.parse(stored!)).toBeGreaterThanOrEqual(before);
  });

  it('uses the last visit as "since" and says when nothing happened', async () => {
    const api = mockReleaseManagerApi();
    const lastVisit = '2026-01-01T08:00:00.000Z';
    const storageApi = mockApis.storage({
      data: { 'release-manager': { 'last-visit.team.payments': lastVisit } },
    });
    await renderInTestApp(
      <Providers api={api} entity={groupEntity} storageApi={storageApi}>
        <EntitySinceYesterdayCard />
      </Providers>,
    );
    expect(await screen.findByTestId('since-yesterday-empty')).toHaveTextContent(
      'Nothing was released, rolled back or failed since',
    );
    expect(api.getTeamReleases).toHaveBeenCalledWith('payments', new Date(lastVisit));
  });

  it('shows errors', async () => {
    const api = mockReleaseManagerApi();
    api.getTeamReleases.mockRejectedValue(new Error('team payments is unknown'));
    await renderInTestApp(
      <Providers api={api} entity={groupEntity}>
        <EntitySinceYesterdayCard />
      </Providers>,
    );
    expect((await screen.findAllByText(/team payments is unknown/))[0]).toBeInTheDocument();
  });
});
