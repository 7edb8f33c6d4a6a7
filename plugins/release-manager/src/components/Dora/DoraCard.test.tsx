import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { TestApiProvider, renderInTestApp } from '@backstage/test-utils';
import { identityApiRef } from '@backstage/core-plugin-api';
import { catalogApiRef } from '@backstage/plugin-catalog-react';
import {
  DORA_FIXTURE,
  DoraReport,
  computeDora,
} from '@devplane/plugin-release-manager-common';
import { DoraCard, HomeDoraContent, formatHours } from './DoraCard';
import { releaseManagerApiRef } from '../../api';
import { mockReleaseManagerApi } from '../../__testUtils__';

/** The report the backend answers for the fixture history (computed by the real module). */
function fixtureReport(): DoraReport {
  return {
    scope: { squad: DORA_FIXTURE.squad },
    services: ['ledger', 'payment-gateway'],
    environments: ['prod'],
    metrics: computeDora(DORA_FIXTURE.releases, DORA_FIXTURE.incidents, {
      from: Date.parse(DORA_FIXTURE.from),
      to: Date.parse(DORA_FIXTURE.to),
      failureWindowHours: DORA_FIXTURE.failureWindowHours,
    }),
    incidents: { checked: true, warnings: [] },
    leadTimeFromUpload: 0,
  };
}

function apis(answer: () => Promise<DoraReport>) {
  const api = mockReleaseManagerApi();
  api.getDora.mockImplementation(answer);
  return api;
}

describe('DoraCard', () => {
  it('renders the fixture history\'s hand-computed numbers and its chart', async () => {
    const api = apis(async () => fixtureReport());
    await renderInTestApp(
      <TestApiProvider apis={[[releaseManagerApiRef, api]]}>
        <DoraCard scope={{ squad: 'payments' }} />
      </TestApiProvider>,
    );
    // the numbers of dora.test.ts: 7 deployments (1.63 a week), lead time median 7.5 h / p90 48 h,
    // 4 of 7 failed = 57.1 %, time to restore median 1.75 h (shown 1.8 h) / p90 3 h
    expect(await screen.findByTestId('dora-deployments')).toHaveTextContent('7');
    expect(screen.getByTestId('dora-deployments-detail')).toHaveTextContent('1.63 a week');
    expect(screen.getByTestId('dora-lead-time')).toHaveTextContent('7.5 h');
    expect(screen.getByTestId('dora-lead-time-detail')).toHaveTextContent('p90 48 h · 6 measured, 1 without commit time');
    expect(screen.getByTestId('dora-change-failure-rate')).toHaveTextContent('57.1%');
    expect(screen.getByTestId('dora-change-failure-rate-detail')).toHaveTextContent('4 of 7 (2 rolled back, 2 incident)');
    expect(screen.getByTestId('dora-time-to-restore')).toHaveTextContent('1.8 h');
    expect(screen.getByTestId('dora-time-to-restore-detail')).toHaveTextContent('p90 3 h · 4 restored, 1 open');
    // one bar per active day; 2026-11-15 had 2 deployments, 1 failed
    const chart = screen.getByTestId('dora-chart');
    expect(chart.querySelectorAll('[data-testid^="dora-bar-"]')).toHaveLength(6);
    const day = within(chart).getByTestId('dora-bar-2026-11-15');
    expect(day.querySelector('title')!.textContent).toBe('2026-11-15: 2 deployments, 1 failed');
    expect(day.querySelectorAll('rect')).toHaveLength(2);
    expect(api.getDora.mock.calls).toEqual([[{ squad: 'payments' }, 30]]);

    // the 90-day window asks again
    fireEvent.click(screen.getByTestId('dora-90'));
    await waitFor(() => expect(api.getDora).toHaveBeenCalledTimes(2));
    expect(api.getDora.mock.calls[1]).toEqual([{ squad: 'payments' }, 90]);
  });

  it('says so when nothing was deployed, and shows incident warnings', async () => {
    const report = fixtureReport();
    report.metrics = computeDora([], [], { from: 0, to: 30 * 86_400_000, failureWindowHours: 24 });
    report.incidents = { checked: false, warnings: ['incidents of ledger not counted: on-call backend unreachable (HTTP 503)'] };
    const api = apis(async () => report);
    await renderInTestApp(
      <TestApiProvider apis={[[releaseManagerApiRef, api]]}>
        <DoraCard scope={{ service: 'ledger' }} />
      </TestApiProvider>,
    );
    expect(await screen.findByTestId('dora-empty')).toHaveTextContent('No production deployments in the last 30 days');
    expect(screen.getByTestId('dora-change-failure-rate')).toHaveTextContent('–');
    expect(screen.getByTestId('dora-warning')).toHaveTextContent('on-call backend unreachable');
  });

  it('shows the error the backend answers', async () => {
    const api = apis(async () => {
      throw new Error('days must be one of 30, 90');
    });
    await renderInTestApp(
      <TestApiProvider apis={[[releaseManagerApiRef, api]]}>
        <DoraCard scope={{ service: 'ledger' }} />
      </TestApiProvider>,
    );
    expect((await screen.findAllByText(/days must be one of 30, 90/)).length).toBeGreaterThan(0);
  });

  it('home: the squads come from the user\'s catalog memberships; none → a clear message', async () => {
    const api = apis(async () => fixtureReport());
    const identityApi = { getBackstageIdentity: async () => ({ type: 'user' as const, userEntityRef: 'user:default/anna', ownershipEntityRefs: ['group:default/made-up'] }) };
    const memberships: Record<string, any> = {
      'user:default/anna': {
        relations: [
          { type: 'memberOf', targetRef: 'group:default/payments' },
          { type: 'ownerOf', targetRef: 'component:default/x' },
        ],
      },
    };
    const catalogApi = { getEntityByRef: jest.fn(async (ref: string) => memberships[ref]) };
    const { unmount } = await renderInTestApp(
      <TestApiProvider
        apis={[[releaseManagerApiRef, api], [identityApiRef, identityApi], [catalogApiRef, catalogApi]]}
      >
        <HomeDoraContent />
      </TestApiProvider>,
    );
    expect(await screen.findByTestId('dora-deployments')).toHaveTextContent('7');
    // the token's ownership claim (made-up) is not used: the catalog's memberOf is
    expect(api.getDora.mock.calls).toEqual([[{ squad: 'payments' }, 30]]);
    unmount();

    memberships['user:default/anna'] = { relations: [] };
    await renderInTestApp(
      <TestApiProvider
        apis={[[releaseManagerApiRef, api], [identityApiRef, identityApi], [catalogApiRef, catalogApi]]}
      >
        <HomeDoraContent />
      </TestApiProvider>,
    );
    expect(await screen.findByTestId('dora-no-squad')).toHaveTextContent('not a member of any squad');
  });

  it('formats hours', () => {
    expect(formatHours(undefined)).toBe('–');
    expect(formatHours(0.5)).toBe('30 min');
    expect(formatHours(7.5)).toBe('7.5 h');
    expect(formatHours(48)).toBe('48 h');
  });
});
