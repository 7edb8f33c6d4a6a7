import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import { renderInTestApp } from '@backstage/test-utils';
import { HomeSinceYesterdayContent } from './MySinceYesterday';
import {
  Providers,
  feature,
  makeRelease,
  masterNew,
  masterOld,
  mockReleaseManagerApi,
  mockSignalApi,
} from '../../__testUtils__';

const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000).toISOString();

describe('Since yesterday for me (home)', () => {
  it('shows releases, rollbacks, failed rollouts with crash lines and incidents of my squads; filters; refreshes on signals', async () => {
    const api = mockReleaseManagerApi();
    api.getSinceYesterday.mockImplementation(async (since: Date, squad?: string) => ({
      since: since.toISOString(),
      platform: false,
      squads: [{ name: 'payments', services: ['payment-gateway'] }],
      ...(squad ? { squad } : {}),
      releases: [
        makeRelease(masterNew, 'dev', { releasedAt: hoursAgo(1) }),
        makeRelease(feature, 'staging', {
          releasedAt: hoursAgo(2),
          rollout: { state: 'failed', reason: 'CrashLoopBackOff', logLines: ['panic: assignment to entry in nil map', 'exit status 2'] },
        }),
        makeRelease(masterOld, 'prod', { intent: 'rollback', releasedAt: hoursAgo(3) }),
      ],
      incidents: [
        { id: 'i-1', service: 'payment-gateway', title: 'Card payments failing', status: 'triggered', openedAt: hoursAgo(1) },
      ],
      warnings: [],
    }));
    const signalApi = mockSignalApi();
    await renderInTestApp(
      <Providers api={api} signalApi={signalApi}>
        <HomeSinceYesterdayContent />
      </Providers>,
    );
    await screen.findByTestId('since-yesterday-mine');
    expect(screen.getByTestId('since-releases')).toHaveTextContent('Releases (1)');
    expect(screen.getByTestId('since-releases')).toHaveTextContent('payment-gateway → dev');
    expect(screen.getByTestId('since-rollbacks')).toHaveTextContent('Rollbacks (1)payment-gateway → prod');
    const failed = screen.getByTestId('since-failed');
    expect(failed).toHaveTextContent('Failed rollouts (1)');
    expect(failed).toHaveTextContent('CrashLoopBackOff');
    expect(failed).toHaveTextContent('panic: assignment to entry in nil map');
    expect(screen.getByTestId('since-incidents')).toHaveTextContent('payment-gateway: Card payments failing · triggered');
    // approvals waiting for me are part of the pane
    expect(await screen.findByTestId('approvals-mine-empty')).toBeInTheDocument();
    expect(api.getSinceYesterday).toHaveBeenCalledWith(expect.any(Date), undefined);

    // the squad filter narrows the question (the server checks it is one of mine)
    fireEvent.change(screen.getByTestId('since-squad'), { target: { value: 'payments' } });
    await waitFor(() => expect(api.getSinceYesterday).toHaveBeenLastCalledWith(expect.any(Date), 'payments'));

    const calls = api.getSinceYesterday.mock.calls.length;
    act(() => signalApi.send('release-manager', { kind: 'released', service: 'ledger' }));
    await waitFor(() => expect(api.getSinceYesterday.mock.calls.length).toBeGreaterThan(calls));
  });

  it('keeps empty sections visible with their zero counts', async () => {
    const api = mockReleaseManagerApi();
    api.getSinceYesterday.mockImplementation(async (since: Date) => ({
      since: since.toISOString(),
      platform: true,
      squads: [{ name: 'payments', services: ['payment-gateway'] }, { name: 'lending', services: ['loan-engine'] }],
      releases: [],
      incidents: [],
      warnings: ['incidents of loan-engine not counted: on-call backend unreachable (HTTP 503)'],
    }));
    await renderInTestApp(
      <Providers api={api}>
        <HomeSinceYesterdayContent />
      </Providers>,
    );
    await screen.findByTestId('since-yesterday-mine');
    for (const [id, title] of [['releases', 'Releases'], ['rollbacks', 'Rollbacks'], ['failed', 'Failed rollouts'], ['incidents', 'Incidents']]) {
      expect(screen.getByTestId(`since-${id}`)).toHaveTextContent(`${title} (0)none`);
    }
    expect(screen.getByText(/platform: all squads/)).toBeInTheDocument();
    expect(screen.getByText(/on-call backend unreachable/)).toBeInTheDocument();
  });

  it('says so clearly when I belong to no squad that owns services', async () => {
    const api = mockReleaseManagerApi();
    await renderInTestApp(
      <Providers api={api}>
        <HomeSinceYesterdayContent />
      </Providers>,
    );
    expect(await screen.findByTestId('since-yesterday-no-squad')).toHaveTextContent('no squad that owns services');
  });
});
