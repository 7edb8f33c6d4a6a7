import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { Entity } from '@backstage/catalog-model';
import { ResponseError } from '@backstage/errors';
import { OnCallResponse } from '@devplane/plugin-oncall-common';
import { OnCallApi, onCallApiRef } from '../api';
import { EntityOnCallCard } from './EntityOnCallCard';
import { signalApiRef } from '@backstage/plugin-signals-react';

const entity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'ledger', namespace: 'default' },
  spec: { type: 'service', owner: 'payments', lifecycle: 'production' },
};

const configured: OnCallResponse = {
  configured: true,
  provider: 'embedded',
  schedule: 'payments',
  now: [
    {
      id: 'user:default/anna.jensen',
      name: 'Anna Jensen',
      email: 'anna.jensen@example.com',
    },
  ],
  next: [{ id: 'user:default/erik.berg', name: 'Erik Berg' }],
  handoffAt: '2025-01-13T09:00:00.000Z',
  escalation: [
    {
      level: 1,
      people: [{ id: 'user:default/anna.jensen', name: 'Anna Jensen' }],
    },
    { level: 2, people: [{ id: 'user:default/lars.holm', name: 'Lars Holm' }] },
  ],
  openIncidents: [
    {
      id: '5f0c1d9e-0000-4000-8000-000000000001',
      provider: 'embedded',
      entityRef: 'component:default/ledger',
      title: 'Ledger double-posts',
      severity: 'critical',
      status: 'triggered',
      createdAt: '2025-01-07T12:00:00.000Z',
      triggeredBy: 'user:default/kim.ek',
      assignedTo: 'user:default/anna.jensen',
      actionable: true,
    },
  ],
  canTrigger: true,
};

function mockApi(overrides: Partial<OnCallApi> = {}): jest.Mocked<OnCallApi> {
  return {
    getOnCall: jest.fn(async () => configured),
    triggerIncident: jest.fn(),
    acknowledgeIncident: jest.fn(async () => ({
      incident: configured.configured
        ? configured.openIncidents[0]
        : ({} as any),
    })),
    resolveIncident: jest.fn(),
    getServiceFreeze: jest.fn(),
    getProductionReleases: jest.fn(async () => undefined),
    rollbackProduction: jest.fn(),
    previewRollback: jest.fn(),
    ...overrides,
  } as jest.Mocked<OnCallApi>;
}

const render = (api: OnCallApi) =>
  renderInTestApp(
    <TestApiProvider apis={[[onCallApiRef, api]]}>
      <EntityProvider entity={entity}>
        <EntityOnCallCard />
      </EntityProvider>
    </TestApiProvider>,
  );

describe('EntityOnCallCard', () => {
  it('shows a loading state, then who is on call now and next, the escalation path and open incidents', async () => {
    let resolve: (v: OnCallResponse) => void = () => {};
    const api = mockApi({
      getOnCall: jest.fn(() => new Promise<OnCallResponse>(r => (resolve = r))),
    });
    await render(api);
    expect(screen.getByTestId('progress')).toBeInTheDocument();
    resolve(configured);
    expect(await screen.findByText('On call now')).toBeInTheDocument();
    expect(screen.getAllByText('Anna Jensen').length).toBeGreaterThan(0);
    expect(screen.getByText('anna.jensen@example.com')).toBeInTheDocument();
    expect(screen.getByText('Erik Berg')).toBeInTheDocument();
    expect(screen.getByText('Level 2: Lars Holm')).toBeInTheDocument();
    expect(screen.getByText('Ledger double-posts')).toBeInTheDocument();
    expect(api.getOnCall).toHaveBeenCalledWith({
      kind: 'Component',
      namespace: 'default',
      name: 'ledger',
    });
  });

  it('shows the escalation level, the timeline and a failed notification, and reloads on a signal', async () => {
    if (!configured.configured) throw new Error('fixture');
    const base = configured.openIncidents[0];
    const at = '2025-01-07T12:00:00.000Z';
    const escalated: OnCallResponse = {
      ...configured,
      openIncidents: [
        {
          ...base,
          escalationLevel: 2,
          escalationLevels: 3,
          reporters: ['user:default/kim.ek', 'user:default/ole.dam'],
          timeline: [
            { at, type: 'triggered', actor: 'user:default/kim.ek' },
            { at, type: 'paged', level: 1, people: ['user:default/anna.jensen'] },
            { at, type: 'joined', actor: 'user:default/ole.dam' },
            {
              at,
              type: 'escalated',
              level: 2,
              people: ['user:default/lars.holm'],
              detail: 'not acknowledged at level 1',
            },
            {
              at,
              type: 'notification-failed',
              level: 2,
              people: ['user:default/lars.holm'],
            },
          ],
        },
      ],
    };
    const getOnCall = jest
      .fn()
      .mockResolvedValueOnce(configured)
      .mockResolvedValue(escalated);
    const listeners = new Map<string, (m: any) => void>();
    const signals = {
      subscribe: (channel: string, onMessage: (m: any) => void) => {
        listeners.set(channel, onMessage);
        return { unsubscribe: () => listeners.delete(channel) };
      },
    };
    await renderInTestApp(
      <TestApiProvider
        apis={[
          [onCallApiRef, mockApi({ getOnCall })],
          [signalApiRef, signals],
        ]}
      >
        <EntityProvider entity={entity}>
          <EntityOnCallCard />
        </EntityProvider>
      </TestApiProvider>,
    );
    expect(await screen.findByText('Ledger double-posts')).toBeInTheDocument();
    expect(screen.queryByText('level 2 of 3')).not.toBeInTheDocument();

    // the backend announces a change of this entity's incidents: the card reloads by itself
    await waitFor(() =>
      expect(listeners.has('oncall:component:default/ledger')).toBe(true),
    );
    listeners.get('oncall:component:default/ledger')!({
      entityRef: 'component:default/ledger',
    });
    expect(await screen.findByText('level 2 of 3')).toBeInTheDocument();
    expect(screen.getByText('notification failed')).toBeInTheDocument();
    const timeline = screen.getByRole('list', { name: 'Incident timeline' });
    expect(timeline).toHaveTextContent(
      'escalated to level 2 (not acknowledged at level 1)',
    );
    expect(timeline).toHaveTextContent('ole.dam reported it too');
    expect(timeline).toHaveTextContent(
      'notification failed: level 2 (lars.holm) was not reached',
    );
    expect(screen.getByText(/reported by kim.ek, ole.dam/)).toBeInTheDocument();
    expect(getOnCall).toHaveBeenCalledTimes(2);
  });

  it('explains how to configure on-call when there is none', async () => {
    await render(
      mockApi({
        getOnCall: jest.fn(async () => ({
          configured: false as const,
          help: 'No on-call configuration found for this entity.',
        })),
      }),
    );
    expect(
      await screen.findByText('No on-call configured'),
    ).toBeInTheDocument();
    expect(
      screen.getByText('No on-call configuration found for this entity.'),
    ).toBeInTheDocument();
    expect(
      screen.getByText(/pagerduty.com\/escalation-policy-id/),
    ).toBeInTheDocument();
    expect(
      screen.queryByRole('button', { name: /trigger/i }),
    ).not.toBeInTheDocument();
  });

  it('shows an error state', async () => {
    const response = new Response(
      JSON.stringify({
        error: {
          name: 'NotFoundError',
          message: 'No entity component:default/ledger in the catalog',
        },
        response: { statusCode: 404 },
      }),
      {
        status: 404,
        statusText: 'Not Found',
        headers: { 'Content-Type': 'application/json' },
      },
    );
    const error = await ResponseError.fromResponse(response);
    await render(
      mockApi({
        getOnCall: jest.fn(async () => {
          throw error;
        }),
      }),
    );
    expect(
      (
        await screen.findAllByText(
          /No entity component:default\/ledger in the catalog/,
        )
      ).length,
    ).toBeGreaterThan(0);
    expect(screen.getByText(/404: NotFoundError/)).toBeInTheDocument();
  });

  it('shows nobody on call and no incidents when the rotation is empty', async () => {
    await render(
      mockApi({
        getOnCall: jest.fn(async () => ({
          ...configured,
          now: [],
          next: [],
          escalation: [],
          openIncidents: [],
        })),
      }),
    );
    expect(
      await screen.findByText('Nobody is on call right now.'),
    ).toBeInTheDocument();
    expect(screen.getByText('No open incidents.')).toBeInTheDocument();
  });

  it('triggers an incident through the dialog: description required, severity chosen, reports id and status', async () => {
    const user = userEvent.setup();
    const api = mockApi({
      triggerIncident: jest.fn(async () => ({
        deduplicated: false,
        incident: {
          ...(configured as any).openIncidents[0],
          id: 'inc-42',
          title: 'Ledger slow',
          severity: 'warning' as const,
          status: 'triggered' as const,
        },
      })),
    });
    await render(api);
    await user.click(
      await screen.findByRole('button', { name: /trigger incident/i }),
    );
    const dialog = await screen.findByRole('dialog');
    await user.click(
      within(dialog).getByRole('button', { name: /^trigger$/i }),
    );
    expect(
      await within(dialog).findByText('A description is required'),
    ).toBeInTheDocument();
    expect(api.triggerIncident).not.toHaveBeenCalled();

    await user.type(
      within(dialog).getByLabelText('description'),
      'Ledger slow',
    );
    await user.click(within(dialog).getByRole('button', { name: /severity/i }));
    await user.click(await screen.findByRole('option', { name: 'warning' }));
    await user.click(
      within(dialog).getByRole('button', { name: /^trigger$/i }),
    );

    expect(await within(dialog).findByText('inc-42')).toBeInTheDocument();
    expect(within(dialog).getByText('triggered')).toBeInTheDocument();
    expect(api.triggerIncident).toHaveBeenCalledWith(
      { kind: 'Component', namespace: 'default', name: 'ledger' },
      { description: 'Ledger slow', severity: 'warning' },
    );
    await waitFor(() => expect(api.getOnCall).toHaveBeenCalledTimes(2));
  });

  it("shows the server's message when triggering fails (rate limit)", async () => {
    const user = userEvent.setup();
    const api = mockApi({
      triggerIncident: jest.fn(async () => {
        throw new Error(
          'Too many incidents triggered for component:default/ledger: at most 3 per 60 seconds per person.',
        );
      }),
    });
    await render(api);
    await user.click(
      await screen.findByRole('button', { name: /trigger incident/i }),
    );
    const dialog = await screen.findByRole('dialog');
    await user.type(within(dialog).getByLabelText('description'), 'again');
    await user.click(
      within(dialog).getByRole('button', { name: /^trigger$/i }),
    );
    expect(
      await within(dialog).findByText(/at most 3 per 60 seconds/),
    ).toBeInTheDocument();
  });

  it('disables Trigger without the permission', async () => {
    await render(
      mockApi({
        getOnCall: jest.fn(async () => ({ ...configured, canTrigger: false })),
      }),
    );
    expect(
      await screen.findByRole('button', { name: /trigger incident/i }),
    ).toBeDisabled();
  });

  it('acknowledges an embedded incident and reloads', async () => {
    const user = userEvent.setup();
    const api = mockApi();
    await render(api);
    await user.click(
      await screen.findByRole('button', { name: 'Acknowledge' }),
    );
    expect(api.acknowledgeIncident).toHaveBeenCalledWith(
      '5f0c1d9e-0000-4000-8000-000000000001',
    );
    await waitFor(() => expect(api.getOnCall).toHaveBeenCalledTimes(2));
  });
});
