import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp } from '@backstage/test-utils';
import { ResponseError } from '@backstage/errors';
import { ReleasesContent } from './ReleasesContent';
import {
  MockApi,
  Providers,
  componentEntity,
  feature,
  makeRelease,
  masterNew,
  masterOld,
  mockReleaseManagerApi,
  mockSignalApi,
  permissionApiDenying,
  statuses,
  ENV_COMMIT,
} from '../__testUtils__';

async function notFound(message: string) {
  return ResponseError.fromResponse(
    new Response(
      JSON.stringify({
        error: { name: 'NotFoundError', message },
        response: { statusCode: 404 },
      }),
      { status: 404, statusText: 'Not Found', headers: { 'Content-Type': 'application/json' } },
    ),
  );
}

function render(api: MockApi, extra: Partial<Parameters<typeof Providers>[0]> = {}) {
  return renderInTestApp(
    <Providers api={api} entity={componentEntity} {...extra}>
      <ReleasesContent />
    </Providers>,
  );
}

describe('ReleasesContent', () => {
  it('shows progress while loading', async () => {
    const api = mockReleaseManagerApi();
    api.getStatus.mockReturnValue(new Promise(() => {}));
    await render(api);
    expect(screen.getByTestId('progress')).toBeInTheDocument();
    expect(screen.queryByTestId('releases-content')).not.toBeInTheDocument();
  });

  it('shows the error in plain words when the service cannot be loaded', async () => {
    const api = mockReleaseManagerApi();
    api.getStatus.mockRejectedValue(await notFound("service 'payment-gateway' is unknown"));
    await render(api);
    expect(
      (await screen.findAllByText(/service 'payment-gateway' is unknown/))[0],
    ).toBeInTheDocument();
    expect(screen.queryByTestId('releases-content')).not.toBeInTheDocument();
  });

  it('explains how CI uploads an artifact when there is none', async () => {
    const api = mockReleaseManagerApi();
    api.getStatus.mockResolvedValue([]);
    api.getArtifacts.mockResolvedValue({ items: [] });
    await render(api);
    expect(await screen.findByText('No artifacts yet')).toBeInTheDocument();
    expect(screen.getByTestId('artifact-push-hint')).toHaveTextContent(
      'release-manager artifact push --spec artifact.json --manifests',
    );
    expect(screen.getByTestId('env-empty-dev')).toHaveTextContent(
      'Nothing released to dev yet.',
    );
  });

  it('shows what runs where, ordered dev → staging → prod, for the annotated service', async () => {
    const api = mockReleaseManagerApi();
    await render(api);
    await screen.findByTestId('releases-content');
    expect(api.getStatus).toHaveBeenCalledWith('payment-gateway');

    const cards = screen.getAllByTestId(/^env-card-/);
    expect(cards.map(c => c.getAttribute('data-testid'))).toEqual([
      'env-card-dev',
      'env-card-staging',
      'env-card-prod',
    ]);
    const dev = within(screen.getByTestId('env-card-dev'));
    expect(dev.getByTestId('env-artifact-dev')).toHaveTextContent(masterNew.id);
    expect(dev.getByText('master')).toBeInTheDocument();
    expect(dev.getByText('aaaaaaa')).toBeInTheDocument();
    expect(dev.getByText(/Change on master/)).toBeInTheDocument();
    expect(dev.getByText('Ada Lovelace')).toBeInTheDocument();
    expect(dev.getByText('build log').closest('a')).toHaveAttribute(
      'href',
      masterNew.ciJobUrl,
    );
    expect(dev.getByText(/auto-released by grace@example.com/)).toBeInTheDocument();
    expect(dev.getByTestId('rollout-status-dev')).toHaveTextContent('succeeded 2/2');

    const staging = within(screen.getByTestId('env-card-staging'));
    expect(staging.getByTestId('rollout-status-staging')).toHaveTextContent('failed 0/2');
    expect(staging.getByText('CrashLoopBackOff')).toBeInTheDocument();
    expect(staging.getByLabelText('failure log lines')).toHaveTextContent(
      'panic: missing DATABASE_URL',
    );
    expect(screen.getByTestId('env-empty-prod')).toBeInTheDocument();

    // Artifact table with an action per artifact and environment.
    const table = await screen.findByTestId('artifact-table');
    expect(within(table).getAllByTestId(/^artifact-row-/)).toHaveLength(3);
    expect(screen.getByTestId(`running-${masterNew.id}-dev`)).toBeInTheDocument();
    expect(
      screen.getByTestId(`release-action-${masterNew.id}-staging`),
    ).toHaveTextContent('Promote to staging');
    expect(
      screen.getByTestId(`release-action-${feature.id}-staging`),
    ).toHaveTextContent('Release to staging');
  });

  it('filters artifacts by branch and pages with cursors', async () => {
    const api = mockReleaseManagerApi();
    api.getArtifacts.mockResolvedValue({ items: [masterNew], nextCursor: 'c2' });
    await render(api);
    await screen.findByTestId('artifact-table');
    expect(api.getArtifacts).toHaveBeenLastCalledWith('payment-gateway', {
      branch: undefined,
      limit: 10,
      cursor: undefined,
    });

    await userEvent.click(screen.getByTestId('artifacts-next-page'));
    await waitFor(() =>
      expect(api.getArtifacts).toHaveBeenLastCalledWith('payment-gateway', {
        branch: undefined,
        limit: 10,
        cursor: 'c2',
      }),
    );

    api.getArtifacts.mockResolvedValue({ items: [feature] });
    fireEvent.change(screen.getByTestId('artifact-branch-filter'), {
      target: { value: 'feature-x' },
    });
    await waitFor(() =>
      expect(api.getArtifacts).toHaveBeenLastCalledWith('payment-gateway', {
        branch: 'feature-x',
        limit: 10,
        cursor: undefined,
      }),
    );
  });

  it('promotes after showing the diff and the verdict, then shows the commit', async () => {
    const api = mockReleaseManagerApi();
    const promoted = makeRelease(masterNew, 'staging', { intent: 'promote' });
    api.promote.mockResolvedValue({ changed: true, message: 'ok', release: promoted });
    await render(api);

    await userEvent.click(await screen.findByTestId('promote-dev-to-staging'));
    const dialog = await screen.findByTestId('release-dialog');
    expect(api.getDiff).toHaveBeenCalledWith('payment-gateway', 'staging', masterNew.id);
    expect(api.getVerdict).toHaveBeenCalledWith('payment-gateway', 'staging', masterNew.id);
    expect(
      await within(dialog).findByText('Allowed: master may go to staging.', { exact: false }),
    ).toBeInTheDocument();
    expect(within(dialog).getByTestId('diff-file-deployment.yaml')).toHaveTextContent(
      '+image: pg:aaaaaaa',
    );
    expect(within(dialog).queryByTestId('diff-file-service.yaml')).not.toBeInTheDocument();

    api.getStatus.mockClear();
    await userEvent.click(within(dialog).getByTestId('release-dialog-confirm'));
    expect(api.promote).toHaveBeenCalledWith({
      service: 'payment-gateway',
      pin: { artifactId: masterNew.id, environmentCommit: ENV_COMMIT },
      fromEnvironment: 'dev',
      toEnvironment: 'staging',
    });
    expect(await within(dialog).findByTestId('release-dialog-commit')).toHaveTextContent(
      promoted.id.slice(0, 7),
    );
    expect(within(dialog).getByText(promoted.commitTitle, { exact: false })).toBeInTheDocument();
    // The page reloads what runs where.
    await waitFor(() => expect(api.getStatus).toHaveBeenCalled());
  });

  it('releases an artifact with the right body from the table', async () => {
    const api = mockReleaseManagerApi();
    api.release.mockResolvedValue({
      changed: true,
      message: 'ok',
      release: makeRelease(feature, 'dev'),
    });
    await render(api);
    await userEvent.click(await screen.findByTestId(`release-action-${feature.id}-dev`));
    const dialog = await screen.findByTestId('release-dialog');
    await waitFor(() =>
      expect(within(dialog).getByTestId('release-dialog-confirm')).toBeEnabled(),
    );
    await userEvent.click(within(dialog).getByTestId('release-dialog-confirm'));
    expect(api.release).toHaveBeenCalledWith({
      service: 'payment-gateway',
      pin: { artifactId: feature.id, environmentCommit: ENV_COMMIT },
      environment: 'dev',
      artifactId: feature.id,
    });
    expect(await within(dialog).findByTestId('release-dialog-result')).toBeInTheDocument();
  });

  it('asks for the verdict again when the policy check failed (confirm stays disabled until then)', async () => {
    const api = mockReleaseManagerApi();
    api.getVerdict.mockRejectedValueOnce(new Error('permission backend unreachable'));
    await render(api);
    await userEvent.click(await screen.findByTestId(`release-action-${feature.id}-dev`));
    const dialog = await screen.findByTestId('release-dialog');
    expect(await within(dialog).findByText(/Could not check the policies: permission backend unreachable/)).toBeInTheDocument();
    expect(within(dialog).getByTestId('release-dialog-confirm')).toBeDisabled();
    await userEvent.click(within(dialog).getByTestId('release-dialog-verdict-retry'));
    await waitFor(() => expect(within(dialog).getByTestId('release-dialog-confirm')).toBeEnabled());
    expect(api.getVerdict).toHaveBeenCalledTimes(2);
  });

  it('shows a refused release in plain words', async () => {
    const api = mockReleaseManagerApi();
    api.release.mockRejectedValue(
      await ResponseError.fromResponse(
        new Response(
          JSON.stringify({
            error: { name: 'ConflictError', message: 'staging is being released by someone else' },
            response: { statusCode: 409 },
          }),
          { status: 409, headers: { 'Content-Type': 'application/json' } },
        ),
      ),
    );
    await render(api);
    await userEvent.click(await screen.findByTestId(`release-action-${feature.id}-staging`));
    const dialog = await screen.findByTestId('release-dialog');
    await waitFor(() =>
      expect(within(dialog).getByTestId('release-dialog-confirm')).toBeEnabled(),
    );
    await userEvent.click(within(dialog).getByTestId('release-dialog-confirm'));
    expect(await within(dialog).findByTestId('release-dialog-error')).toHaveTextContent(
      'staging is being released by someone else',
    );
  });

  it('disables a feature branch to prod with the reason, and the dialog shows the verdict', async () => {
    const api = mockReleaseManagerApi();
    await render(api);
    const button = await screen.findByTestId(`release-action-${feature.id}-prod`);
    expect(button).toBeDisabled();
    expect(screen.getByTestId(`release-blocked-${feature.id}-prod`)).toHaveTextContent(
      'prod accepts only master/main',
    );
    // master may go to prod.
    expect(screen.getByTestId(`release-action-${masterNew.id}-prod`)).toBeEnabled();

    // When the server refuses, the dialog says why and cannot be confirmed.
    api.getVerdict.mockResolvedValue({
      allowed: false,
      reason: 'prod is frozen until Monday',
    });
    await userEvent.click(screen.getByTestId(`release-action-${masterNew.id}-prod`));
    const dialog = await screen.findByTestId('release-dialog');
    expect(
      await within(dialog).findByText('Not allowed: prod is frozen until Monday'),
    ).toBeInTheDocument();
    expect(within(dialog).getByTestId('release-dialog-confirm')).toBeDisabled();
  });

  it('disables production releases without the production permission', async () => {
    const api = mockReleaseManagerApi();
    // Another entity ref, so that no permission decision is cached from earlier tests.
    await render(api, {
      permissionApi: permissionApiDenying('release-manager.promote.production'),
      entity: {
        ...componentEntity,
        metadata: { ...componentEntity.metadata, name: 'no-prod-rights' },
      },
    });
    await waitFor(() =>
      expect(
        screen.getByTestId(`release-blocked-${masterNew.id}-prod`),
      ).toHaveTextContent("you may not release to prod: production releases need the owners' permission"),
    );
    expect(screen.getByTestId(`release-action-${masterNew.id}-prod`)).toBeDisabled();
    expect(screen.getByTestId(`release-action-${feature.id}-staging`)).toBeEnabled();
  });

  it('rolls back to an earlier artifact after showing the diff', async () => {
    const api = mockReleaseManagerApi();
    api.getReleases.mockResolvedValue({
      items: [
        makeRelease(masterOld, 'staging'),
        makeRelease(feature, 'staging'),
        makeRelease(masterOld, 'staging'),
      ],
    });
    api.rollback.mockResolvedValue({
      changed: true,
      message: 'ok',
      release: makeRelease(feature, 'staging', { intent: 'rollback' }),
    });
    await render(api);
    await userEvent.click(await screen.findByTestId('rollback-staging'));
    const dialog = await screen.findByTestId('rollback-dialog');
    expect(api.getReleases).toHaveBeenCalledWith('payment-gateway', {
      environment: 'staging',
      limit: 50,
    });
    // The running artifact is not offered; duplicates are listed once.
    expect(await within(dialog).findAllByTestId(/^rollback-option-/)).toHaveLength(1);
    expect(within(dialog).getByTestId('rollback-dialog-confirm')).toBeDisabled();

    await userEvent.click(within(dialog).getByLabelText(new RegExp(feature.id)));
    await waitFor(() =>
      expect(api.getDiff).toHaveBeenCalledWith('payment-gateway', 'staging', feature.id),
    );
    expect(await within(dialog).findByTestId('diff-file-deployment.yaml')).toBeInTheDocument();
    await userEvent.click(within(dialog).getByTestId('rollback-dialog-confirm'));
    expect(api.rollback).toHaveBeenCalledWith({
      service: 'payment-gateway',
      pin: { artifactId: feature.id, environmentCommit: ENV_COMMIT },
      environment: 'staging',
      artifactId: feature.id,
    });
    expect(await within(dialog).findByTestId('rollback-dialog-result')).toHaveTextContent(
      'Rolled back',
    );
  });

  it('refreshes without reload when a signal arrives on the service channel', async () => {
    const api = mockReleaseManagerApi();
    const signalApi = mockSignalApi();
    await render(api, { signalApi });
    await screen.findByTestId('releases-content');
    expect(signalApi.subscribe).toHaveBeenCalledWith(
      'release-manager:payment-gateway',
      expect.any(Function),
    );
    expect(screen.getByTestId('env-artifact-staging')).toHaveTextContent(masterOld.id);
    // the panels below the cards mount after the cards are painted (useAfterPaint)
    await screen.findByTestId('artifact-table');
    expect(await screen.findByTestId(`running-${masterOld.id}-staging`)).toBeInTheDocument();

    api.getStatus.mockResolvedValue([
      statuses[0],
      {
        environment: 'staging',
        production: false,
        artifact: masterNew,
        release: makeRelease(masterNew, 'staging', { intent: 'promote' }),
      },
      statuses[2],
    ]);
    act(() => {
      signalApi.send('release-manager:payment-gateway', {
        kind: 'released',
        service: 'payment-gateway',
        environment: 'staging',
      });
    });
    await waitFor(() =>
      expect(screen.getByTestId('env-artifact-staging')).toHaveTextContent(masterNew.id),
    );
    expect(await screen.findByTestId(`running-${masterNew.id}-staging`)).toBeInTheDocument();
    expect(screen.queryByTestId(`running-${masterOld.id}-staging`)).not.toBeInTheDocument();
  });
});
