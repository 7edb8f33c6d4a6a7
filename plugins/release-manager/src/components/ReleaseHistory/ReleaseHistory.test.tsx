import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp } from '@backstage/test-utils';
import { ReleaseHistory, HISTORY_PAGE_SIZE } from './ReleaseHistory';
import { MockApi, Providers, makeRelease, masterNew, masterOld, mockReleaseManagerApi } from '../../__testUtils__';

function render(api: MockApi) {
  return renderInTestApp(
    <Providers api={api}>
      <ReleaseHistory service="payment-gateway" environments={['dev', 'staging', 'prod']} />
    </Providers>,
  );
}

const promoted = makeRelease(masterNew, 'prod', {
  id: '1'.repeat(40),
  intent: 'promote',
  promotedFrom: 'staging',
  releasedBy: 'anna@example.com',
  approvedBy: 'mikkel@example.com',
  rollout: { state: 'succeeded', ready: 3, desired: 3 },
});
const rolledBack = makeRelease(masterOld, 'dev', {
  id: '2'.repeat(40),
  intent: 'rollback',
  releasedBy: 'sofie@example.com',
  breakGlass: 'incident 42',
  rollout: { state: 'failed', ready: 0, desired: 2, reason: 'CrashLoopBackOff' },
});

async function pick(testId: string, option: string) {
  fireEvent.mouseDown(screen.getByTestId(testId));
  await userEvent.click(within(await screen.findByRole('listbox')).getByText(option));
}

describe('ReleaseHistory', () => {
  it('shows progress while loading', async () => {
    const api = mockReleaseManagerApi();
    api.getHistory.mockReturnValue(new Promise(() => {}));
    await render(api);
    expect(screen.getByTestId('progress')).toBeInTheDocument();
  });

  it('says so when nothing was released yet', async () => {
    const api = mockReleaseManagerApi();
    await render(api);
    expect(await screen.findByText('No releases yet')).toBeInTheDocument();
    expect(api.getHistory).toHaveBeenCalledWith('payment-gateway', expect.objectContaining({ limit: HISTORY_PAGE_SIZE, cursor: undefined }));
  });

  it('shows the error when the history cannot be read', async () => {
    const api = mockReleaseManagerApi();
    api.getHistory.mockRejectedValue(new Error('config repo unreachable'));
    await render(api);
    expect((await screen.findAllByText(/config repo unreachable/))[0]).toBeInTheDocument();
  });

  it('lists who, when, what, approved by and the rollout outcome, newest first as the API gives them', async () => {
    const api = mockReleaseManagerApi();
    api.getHistory.mockResolvedValue({ items: [promoted, rolledBack], total: 2 });
    await render(api);
    const rows = within(await screen.findByTestId('release-history-table')).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent('prod');
    expect(rows[0]).toHaveTextContent('promoted from staging');
    expect(rows[0]).toHaveTextContent(masterNew.id);
    expect(rows[0]).toHaveTextContent('anna@example.com');
    expect(rows[0]).toHaveTextContent('mikkel@example.com');
    expect(rows[0]).toHaveTextContent('succeeded 3/3');
    expect(rows[1]).toHaveTextContent('rolled back');
    expect(rows[1]).toHaveTextContent('break-glass');
    expect(rows[1]).toHaveTextContent('failed 0/2 (CrashLoopBackOff)');
    expect(rows[1]).toHaveTextContent('—'); // no approver
    expect(screen.getByText(/2 in all/)).toBeInTheDocument();
  });

  it('pages older and newer with the cursor the API returned', async () => {
    const api = mockReleaseManagerApi();
    api.getHistory.mockImplementation(async (_s, o) =>
      o?.cursor === 'c2' ? { items: [rolledBack], total: 2 } : { items: [promoted], total: 2, nextCursor: 'c2' },
    );
    await render(api);
    await screen.findByTestId(`history-row-${promoted.id}`);
    await userEvent.click(screen.getByRole('button', { name: 'Older' }));
    expect(await screen.findByTestId(`history-row-${rolledBack.id}`)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Older' })).toBeDisabled();
    await userEvent.click(screen.getByRole('button', { name: 'Newer' }));
    expect(await screen.findByTestId(`history-row-${promoted.id}`)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Newer' })).toBeDisabled();
  });

  it('filters by environment, kind and person, from the first page', async () => {
    const api = mockReleaseManagerApi();
    api.getHistory.mockResolvedValue({ items: [promoted], total: 1 });
    await render(api);
    await screen.findByTestId(`history-row-${promoted.id}`);
    await pick('history-environment', 'prod');
    await waitFor(() =>
      expect(api.getHistory).toHaveBeenLastCalledWith('payment-gateway', expect.objectContaining({ environment: 'prod', cursor: undefined })),
    );
    await pick('history-kind', 'rolled back');
    await waitFor(() =>
      expect(api.getHistory).toHaveBeenLastCalledWith('payment-gateway', expect.objectContaining({ environment: 'prod', kind: 'rollback' })),
    );
    api.getHistory.mockResolvedValue({ items: [], total: 0 });
    await userEvent.type(screen.getByTestId('history-person'), 'mikkel@example.com');
    await waitFor(() =>
      expect(api.getHistory).toHaveBeenLastCalledWith(
        'payment-gateway',
        expect.objectContaining({ environment: 'prod', kind: 'rollback', actor: 'mikkel@example.com' }),
      ),
    );
    expect(await screen.findByText('No releases match these filters')).toBeInTheDocument();
  });
});
