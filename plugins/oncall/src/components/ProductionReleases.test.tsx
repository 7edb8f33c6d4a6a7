import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { Entity } from '@backstage/catalog-model';
import { OnCallResponse } from '@devplane/plugin-oncall-common';
import { OnCallClient, onCallApiRef } from '../api';
import { EntityOnCallCard } from './EntityOnCallCard';
import { ago } from './ProductionReleases';

const entity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'payments-gateway-component',
    namespace: 'default',
    annotations: { 'devplane.io/shuttle-service': 'payment-gateway' },
  },
  spec: { type: 'service', owner: 'payments', lifecycle: 'production' },
};

const onCall: OnCallResponse = {
  configured: true,
  provider: 'embedded',
  schedule: 'payments',
  now: [{ id: 'user:default/anna.jensen', name: 'Anna Jensen' }],
  next: [],
  escalation: [],
  openIncidents: [],
  canTrigger: true,
};

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
const releases = [
  { id: 'c3', artifactId: 'main-cccccccccc-1111111111', releasedBy: 'alice@bank.example', releasedAt: minutesAgo(5), intent: 'release' },
  { id: 'c2', artifactId: 'main-bbbbbbbbbb-1111111111', releasedBy: 'bob@bank.example', releasedAt: minutesAgo(180), intent: 'release' },
  { id: 'c1', artifactId: 'main-aaaaaaaaaa-1111111111', releasedBy: 'ci@bank.example', releasedAt: minutesAgo(3 * 1440), intent: 'auto-release' },
];

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    statusText: status === 200 ? 'OK' : 'Error',
    headers: { 'Content-Type': 'application/json' },
  });

type Call = { url: string; method: string; body?: any };

/** A fetch that speaks the on-call and release manager routes the card uses. */
function backend(options: {
  releases?: (call: Call) => Response;
  rollback?: (call: Call) => Response | Promise<Response>;
}) {
  const calls: Call[] = [];
  const fetch = jest.fn(async (url: string, init?: RequestInit) => {
    const call: Call = {
      url,
      method: init?.method ?? 'GET',
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
    };
    calls.push(call);
    if (url.includes('/api/oncall/entities/') && call.method === 'POST') {
      return json(201, {
        deduplicated: false,
        incident: {
          id: 'inc-7',
          provider: 'embedded',
          entityRef: 'component:default/payments-gateway-component',
          title: call.body.description,
          severity: 'critical',
          status: 'triggered',
          createdAt: new Date().toISOString(),
          actionable: true,
          timeline: [
            { at: new Date().toISOString(), type: 'paged', level: 1, people: ['user:default/anna.jensen'] },
          ],
        },
      });
    }
    if (url.includes('/api/oncall/entities/')) return json(200, onCall);
    if (url.includes('/api/release-manager/services/') && url.includes('/diff?')) {
      return json(200, {
        environment: 'prod',
        fromArtifactId: 'main-cccccccccc-1111111111',
        toArtifactId: new URL(url).searchParams.get('artifactId'),
        files: [
          { path: 'deployment.yaml', change: 'modified', patch: '-image: v3\n+image: v2' },
          { path: 'service.yaml', change: 'unchanged' },
        ],
      });
    }
    if (url.includes('/api/release-manager/services/') && call.method === 'GET') {
      return options.releases ? options.releases(call) : json(200, { items: releases });
    }
    if (url.endsWith('/api/release-manager/rollbacks') && call.method === 'POST') {
      return options.rollback ? options.rollback(call) : json(500, {});
    }
    return json(404, { error: { name: 'NotFoundError', message: 'Not found' } });
  });
  const client = new OnCallClient({
    discoveryApi: { getBaseUrl: async (id: string) => `http://backend.test/api/${id}` },
    fetchApi: { fetch: fetch as any },
  });
  return { calls, client };
}

async function openDialog(client: OnCallClient) {
  const user = userEvent.setup();
  await renderInTestApp(
    <TestApiProvider apis={[[onCallApiRef, client]]}>
      <EntityProvider entity={entity}>
        <EntityOnCallCard />
      </EntityProvider>
    </TestApiProvider>,
  );
  await user.click(await screen.findByRole('button', { name: /trigger incident/i }));
  return { user, dialog: await screen.findByRole('dialog') };
}

describe('last production releases in the incident dialog', () => {
  it('lists them (artifact, who, when), the newest marked running, rollback only on earlier ones', async () => {
    const { calls, client } = backend({});
    const { dialog } = await openDialog(client);

    const section = await within(dialog).findByRole('region', { name: 'Last production releases' });
    expect(within(section).getByText('Last releases of payment-gateway to prod')).toBeInTheDocument();
    const items = within(section).getAllByRole('listitem');
    expect(items).toHaveLength(3);
    expect(within(items[0]).getByText('main-cccccccccc-1111111111')).toBeInTheDocument();
    expect(within(items[0]).getByText('running')).toBeInTheDocument();
    expect(within(items[0]).getByText(/released by alice@bank.example, 5 minutes ago/)).toBeInTheDocument();
    expect(within(items[0]).queryByRole('button')).not.toBeInTheDocument();
    expect(within(items[1]).getByText(/released by bob@bank.example, 3 hours ago/)).toBeInTheDocument();
    expect(within(items[1]).queryByText('running')).not.toBeInTheDocument();
    expect(within(items[2]).getByText(/by ci@bank.example, 3 days ago/)).toBeInTheDocument();
    expect(within(section).getAllByRole('button', { name: /roll back to/i })).toHaveLength(2);

    // the service name comes from the shuttle annotation, not the entity name
    expect(calls.map(c => c.url)).toContain(
      'http://backend.test/api/release-manager/services/payment-gateway/releases?environment=prod&limit=5',
    );
  });

  it('rolls back with the right body, shows progress, then the result, and reloads the list', async () => {
    let answer: () => void = () => {};
    const pending = new Promise<void>(r => {
      answer = r;
    });
    const { calls, client } = backend({
      rollback: async () => {
        await pending; // held to observe the progress state
        return json(200, { changed: true, message: 'Rolled back main-bbbbbbbbbb-1111111111 to prod' });
      },
    });

    const { user, dialog } = await openDialog(client);
    // the incident is triggered first: the rollback records it as its reason
    await user.type(within(dialog).getByLabelText('description'), 'Card payments fail');
    await user.click(within(dialog).getByRole('button', { name: 'Trigger' }));
    expect(await within(dialog).findByText(/anna.jensen has been paged/)).toBeInTheDocument();

    const button = await within(dialog).findByRole('button', {
      name: 'Roll back to main-bbbbbbbbbb-1111111111',
    });
    // one click only asks: what runs now, what will run, which files change, the reason
    await user.click(button);
    let confirm = await screen.findByRole('dialog', { name: /roll payment-gateway back in prod/i });
    expect(confirm).toHaveTextContent(
      'prod runs main-cccccccccc-1111111111 now; after the rollback it runs main-bbbbbbbbbb-1111111111',
    );
    expect(confirm).toHaveTextContent('incident inc-7 (Card payments fail)');
    expect(await within(confirm).findByText('modified: deployment.yaml')).toBeInTheDocument();
    expect(within(confirm).queryByText(/service.yaml/)).not.toBeInTheDocument();
    // cancel: nothing is sent
    await user.click(within(confirm).getByRole('button', { name: 'Cancel' }));
    await waitFor(() =>
      expect(screen.queryByRole('dialog', { name: /roll payment-gateway back/i })).not.toBeInTheDocument(),
    );
    expect(calls.filter(c => c.url.endsWith('/rollbacks'))).toHaveLength(0);

    await user.click(button);
    confirm = await screen.findByRole('dialog', { name: /roll payment-gateway back in prod/i });
    await user.click(
      within(confirm).getByRole('button', { name: 'Confirm rollback to main-bbbbbbbbbb-1111111111' }),
    );
    expect(await within(dialog).findByText('Rolling back…')).toBeInTheDocument();
    for (const b of within(dialog).getAllByRole('button', { name: /roll back to/i })) {
      expect(b).toBeDisabled();
    }
    answer();

    expect(
      await within(dialog).findByText('Rolled back main-bbbbbbbbbb-1111111111 to prod'),
    ).toBeInTheDocument();
    const posts = calls.filter(c => c.url.endsWith('/rollbacks'));
    expect(posts).toEqual([
      {
        url: 'http://backend.test/api/release-manager/rollbacks',
        method: 'POST',
        body: {
          service: 'payment-gateway',
          environment: 'prod',
          artifactId: 'main-bbbbbbbbbb-1111111111',
          reason: 'rollback for incident inc-7 (Card payments fail)',
          overrideFreeze: {
            reason: 'rollback is the remedy for incident inc-7 (Card payments fail)',
          },
        },
      },
    ]);
    await waitFor(() =>
      expect(calls.filter(c => c.url.includes('/releases?')).length).toBe(2),
    );
  });

  it("shows the release manager's refusal in plain words", async () => {
    const { client } = backend({
      rollback: () =>
        json(403, {
          error: {
            name: 'NotAllowedError',
            message:
              'You are not allowed to roll back payment-gateway in prod (permission release-manager.promote.production)',
          },
          response: { statusCode: 403 },
        }),
    });
    const { user, dialog } = await openDialog(client);
    await user.click(
      await within(dialog).findByRole('button', { name: 'Roll back to main-aaaaaaaaaa-1111111111' }),
    );
    await user.click(
      await screen.findByRole('button', { name: 'Confirm rollback to main-aaaaaaaaaa-1111111111' }),
    );
    const alert = await within(dialog).findByText(/^Rollback to main-aaaaaaaaaa-1111111111 failed:/);
    expect(alert).toHaveTextContent(
      'Rollback to main-aaaaaaaaaa-1111111111 failed: You are not allowed to roll back payment-gateway in prod (permission release-manager.promote.production)',
    );
    expect(
      within(dialog).getByRole('button', { name: 'Roll back to main-aaaaaaaaaa-1111111111' }),
    ).toBeEnabled();
  });

  it('shows nothing when the release manager is not installed (404)', async () => {
    const { calls, client } = backend({
      releases: () => json(404, { error: { name: 'NotFoundError', message: 'Not found' } }),
    });
    const { dialog } = await openDialog(client);
    await waitFor(() => expect(calls.some(c => c.url.includes('/releases?'))).toBe(true));
    await waitFor(() =>
      expect(within(dialog).queryByText(/Loading production releases/)).not.toBeInTheDocument(),
    );
    expect(within(dialog).queryByRole('region', { name: 'Last production releases' })).not.toBeInTheDocument();
    expect(within(dialog).queryByText(/Could not load/)).not.toBeInTheDocument();
    expect(within(dialog).getByLabelText('description')).toBeInTheDocument();
  });

  it('formats times relative to now', () => {
    const now = Date.parse('2025-01-10T12:00:00Z');
    expect(ago('2025-01-10T11:59:30Z', now)).toBe('just now');
    expect(ago('2025-01-10T11:59:00Z', now)).toBe('1 minute ago');
    expect(ago('2025-01-10T09:00:00Z', now)).toBe('3 hours ago');
    expect(ago('2025-01-08T12:00:00Z', now)).toBe('2 days ago');
  });
});
