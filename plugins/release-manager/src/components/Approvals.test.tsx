import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp } from '@backstage/test-utils';
import { ResponseError } from '@backstage/errors';
import {
  ApprovalRequest,
  FreezeWindowView,
} from '@devplane/plugin-release-manager-common';
import { ApprovalsWaitingForMe, PendingApprovalsPanel } from './Approvals';
import { ReleaseDialog } from './ReleaseDialog';
import { ReleasesContent } from './ReleasesContent';
import {
  ENV_COMMIT,
  MockApi,
  Providers,
  componentEntity,
  environments,
  makeRelease,
  masterNew,
  masterOld,
  mockReleaseManagerApi,
  permissionApiDenying,
} from '../__testUtils__';

const HOUR = 3600_000;

function request(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    id: '11111111-2222-4333-8444-555555555555',
    service: 'payment-gateway',
    environment: 'prod',
    artifactId: masterNew.id,
    intent: 'promote',
    promotedFrom: 'staging',
    requestedBy: 'anna.jensen@example.com',
    requestedByRef: 'user:default/anna.jensen',
    requestedAt: new Date(Date.now() - HOUR).toISOString(),
    expiresAt: new Date(Date.now() + 23 * HOUR).toISOString(),
    environmentCommit: ENV_COMMIT,
    runningArtifactId: masterOld.id,
    artifactAuthor: 'ada@example.com',
    branch: 'master',
    squad: 'payments',
    verdict: { allowed: true, reason: 'branch master may reach prod' },
    diff: {
      environment: 'prod',
      environmentCommit: ENV_COMMIT,
      fromArtifactId: masterOld.id,
      toArtifactId: masterNew.id,
      files: [
        {
          path: 'deployment.yaml',
          change: 'modified',
          patch: '@@ -1,1 +1,1 @@\n-image: pg:bbbbbbb\n+image: pg:aaaaaaa',
        },
      ],
    },
    why: ["prod requires a second person's approval (four eyes)"],
    status: 'pending',
    canApprove: { allowed: true },
    ...overrides,
  };
}

async function forbidden(message: string) {
  return ResponseError.fromResponse(
    new Response(
      JSON.stringify({
        error: { name: 'NotAllowedError', message },
        response: { statusCode: 403 },
      }),
      { status: 403, headers: { 'Content-Type': 'application/json' } },
    ),
  );
}

/** The panel alone (the Releases tab places it; 'freeze windows ahead of time' renders the whole tab). */
function renderPanel(api: MockApi, onDecided = jest.fn()) {
  return renderInTestApp(
    <Providers api={api}>
      <PendingApprovalsPanel service="payment-gateway" onDecided={onDecided} />
    </Providers>,
  );
}

function renderTab(api: MockApi, permissionApi = permissionApiDenying()) {
  return renderInTestApp(
    <Providers api={api} entity={componentEntity} permissionApi={permissionApi}>
      <ReleasesContent />
    </Providers>,
  );
}

describe('pending approvals on the Releases tab', () => {
  it('shows the exact artifact, the diff, the verdict, who asked and when it expires; approving releases it', async () => {
    const api = mockReleaseManagerApi();
    const r = request();
    api.getApprovals.mockResolvedValue({ items: [r] });
    api.approve.mockResolvedValue({
      changed: true,
      message: 'released',
      release: makeRelease(masterNew, 'prod', {
        approvedBy: 'mikkel.holm@example.com',
      }),
    });
    const onDecided = jest.fn();
    await renderPanel(api, onDecided);
    const card = await screen.findByTestId(`approval-${r.id}`);
    expect(api.getApprovals).toHaveBeenCalledWith({
      service: 'payment-gateway',
      status: 'pending',
    });
    expect(card).toHaveTextContent(
      `anna.jensen@example.com asks to promote ${masterNew.id} to prod (from staging)`,
    );
    expect(within(card).getByTestId(`approval-${r.id}-expires`)).toHaveTextContent(
      /in 23 hours/,
    );
    expect(within(card).getByTestId(`approval-${r.id}-verdict`)).toHaveTextContent(
      'Policy verdict: allowed — branch master may reach prod',
    );
    expect(within(card).getByTestId(`approval-${r.id}-diff`)).toHaveTextContent(
      '+image: pg:aaaaaaa',
    );
    expect(within(card).getByTestId(`approval-${r.id}-diff`)).toHaveTextContent(
      ENV_COMMIT.slice(0, 7),
    );

    await userEvent.click(within(card).getByTestId(`approval-${r.id}-approve`));
    expect(api.approve).toHaveBeenCalledWith(r.id);
    expect(
      await within(card).findByTestId(`approval-${r.id}-outcome`),
    ).toHaveTextContent(/Approved and released: commit/);
    expect(onDecided).toHaveBeenCalled();
  });

  it('disables Approve for the requester, with the reason', async () => {
    const api = mockReleaseManagerApi();
    const r = request({
      canApprove: {
        allowed: false,
        reason: 'you asked for this change: someone else must approve it (four eyes)',
      },
    });
    api.getApprovals.mockResolvedValue({ items: [r] });
    await renderPanel(api);
    const card = await screen.findByTestId(`approval-${r.id}`);
    expect(within(card).getByTestId(`approval-${r.id}-approve`)).toBeDisabled();
    expect(within(card).getByTestId(`approval-${r.id}-why-not`)).toHaveTextContent(
      'You cannot approve: you asked for this change',
    );
  });

  it("shows the server's refusal (stale, expired) in its words", async () => {
    const api = mockReleaseManagerApi();
    const r = request();
    api.getApprovals.mockResolvedValue({ items: [r] });
    api.approve.mockRejectedValue(
      await forbidden('You may not approve this request: you wrote the commit'),
    );
    await renderPanel(api);
    const card = await screen.findByTestId(`approval-${r.id}`);
    await userEvent.click(within(card).getByTestId(`approval-${r.id}-approve`));
    expect(
      await within(card).findByTestId(`approval-${r.id}-outcome`),
    ).toHaveTextContent('Not allowed: You may not approve this request: you wrote the commit');
    // still pending: the buttons stay
    expect(within(card).getByTestId(`approval-${r.id}-approve`)).toBeEnabled();
  });

  it('rejects only with a reason', async () => {
    const api = mockReleaseManagerApi();
    const r = request();
    api.getApprovals.mockResolvedValue({ items: [r] });
    api.reject.mockResolvedValue({ ...r, status: 'rejected' });
    await renderPanel(api);
    const card = await screen.findByTestId(`approval-${r.id}`);
    await userEvent.click(within(card).getByTestId(`approval-${r.id}-reject`));
    const confirm = within(card).getByTestId(`approval-${r.id}-reject-confirm`);
    expect(confirm).toBeDisabled();
    await userEvent.type(
      within(card).getByTestId(`approval-${r.id}-reject-comment`),
      'not during the campaign',
    );
    await userEvent.click(confirm);
    expect(api.reject).toHaveBeenCalledWith(r.id, 'not during the campaign');
  });

  it('flags a break-glass request', async () => {
    const api = mockReleaseManagerApi();
    const r = request({ breakGlass: 'hotfix for INC-7', freezeWindow: 'friday' });
    api.getApprovals.mockResolvedValue({ items: [r] });
    await renderPanel(api);
    expect(
      await screen.findByTestId(`approval-${r.id}-break-glass`),
    ).toHaveTextContent('break-glass: hotfix for INC-7');
  });

  it('shows nothing when no request is pending, and the error when they cannot be loaded', async () => {
    const api = mockReleaseManagerApi();
    await renderPanel(api);
    await waitFor(() => expect(api.getApprovals).toHaveBeenCalled());
    expect(screen.queryByTestId('pending-approvals')).not.toBeInTheDocument();
    const failing = mockReleaseManagerApi();
    failing.getApprovals.mockRejectedValue(new Error('approvals store down'));
    await renderPanel(failing);
    expect((await screen.findAllByText(/approvals store down/))[0]).toBeInTheDocument();
  });
});

describe('freeze windows ahead of time', () => {
  const friday: FreezeWindowView = {
    id: 'friday',
    title: 'Weekend freeze',
    environments: ['prod'],
    schedule: 'every Fri 16:00 – Mon 08:00 Europe/Copenhagen',
    kind: 'weekly',
    upcoming: [
      {
        start: new Date(Date.now() + 30 * HOUR).toISOString(),
        end: new Date(Date.now() + 94 * HOUR).toISOString(),
      },
    ],
  };

  it('shows an upcoming window on the tab and on the environment it freezes', async () => {
    const api = mockReleaseManagerApi();
    api.getFreezeWindows.mockResolvedValue([friday]);
    await renderTab(api);
    expect(
      await screen.findByTestId('freeze-windows-upcoming-friday'),
    ).toHaveTextContent('Weekend freeze (prod)');
    expect(screen.getByTestId('env-freeze-prod-friday')).toHaveTextContent(
      'Freeze ahead: Weekend freeze',
    );
    expect(screen.queryByTestId('env-freeze-staging-friday')).not.toBeInTheDocument();
    expect(api.getFreezeWindows).toHaveBeenCalledWith({
      service: 'payment-gateway',
      days: 14,
    });
  });

  it('says a window in force needs break-glass', async () => {
    const api = mockReleaseManagerApi();
    api.getFreezeWindows.mockResolvedValue([
      {
        ...friday,
        current: {
          start: new Date(Date.now() - HOUR).toISOString(),
          end: new Date(Date.now() + HOUR).toISOString(),
        },
      },
    ]);
    await renderTab(api);
    expect(
      await screen.findByTestId('freeze-windows-active-friday'),
    ).toHaveTextContent(/Frozen now: Weekend freeze.*needs break-glass/);
    expect(screen.getByTestId('env-freeze-prod-friday')).toHaveTextContent(
      /Frozen until .*releases need break-glass/,
    );
  });
});

describe('release dialog into a four-eyes environment', () => {
  const fourEyes = environments.map(e =>
    e.name === 'prod' ? { ...e, requireApproval: true } : e,
  );

  function renderDialog(api: MockApi, permissionApi: any) {
    return renderInTestApp(
      <Providers api={api} permissionApi={permissionApi}>
        <ReleaseDialog
          service="payment-gateway"
          action={{
            kind: 'promote',
            artifact: masterNew,
            fromEnvironment: 'staging',
            environment: 'prod',
          }}
          onClose={jest.fn()}
          onReleased={jest.fn()}
        />
      </Providers>,
    );
  }

  it('says it needs approval and shows the pending request after confirming', async () => {
    const api = mockReleaseManagerApi();
    api.getEnvironments.mockResolvedValue(fourEyes);
    const r = request();
    api.promote.mockResolvedValue({
      changed: false,
      message: 'waiting for approval',
      approval: r,
    });
    // a developer: no break-glass permission
    await renderDialog(api, permissionApiDenying('release-manager.break-glass'));
    const dialog = await screen.findByTestId('release-dialog');
    expect(
      await within(dialog).findByTestId('release-dialog-needs-approval'),
    ).toHaveTextContent('This needs approval');
    expect(within(dialog).queryByTestId('break-glass')).not.toBeInTheDocument();
    await waitFor(() =>
      expect(within(dialog).getByTestId('release-dialog-confirm')).toBeEnabled(),
    );
    await userEvent.click(within(dialog).getByTestId('release-dialog-confirm'));
    expect(api.promote.mock.calls[0][0]).not.toHaveProperty('breakGlass');
    expect(
      await within(dialog).findByTestId('release-dialog-pending'),
    ).toHaveTextContent(`Nothing was written. Request ${r.id}`);
  });

});

describe('approvals waiting for me (home)', () => {
  function renderHome(api: MockApi) {
    return renderInTestApp(
      <Providers api={api}>
        <ApprovalsWaitingForMe />
      </Providers>,
    );
  }

  it('lists the requests I may approve', async () => {
    const api = mockReleaseManagerApi();
    const r = request();
    api.getApprovals.mockResolvedValue({ items: [r] });
    await renderHome(api);
    expect(await screen.findByTestId('approvals-mine')).toHaveTextContent(
      `asks to promote ${masterNew.id} to prod`,
    );
    expect(api.getApprovals).toHaveBeenCalledWith({ mine: true });
  });

  it('says so when nothing waits, and shows a failure', async () => {
    const api = mockReleaseManagerApi();
    await renderHome(api);
    expect(await screen.findByTestId('approvals-mine-empty')).toHaveTextContent(
      'Nothing waits for your approval.',
    );
    const failing = mockReleaseManagerApi();
    failing.getApprovals.mockRejectedValue(new Error('backend down'));
    await renderHome(failing);
    expect((await screen.findAllByText(/backend down/))[0]).toBeInTheDocument();
  });
});
