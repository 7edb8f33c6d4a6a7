import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp } from '@backstage/test-utils';
import { ResponseError } from '@backstage/errors';
import { ReleaseDialog, ReleaseAction } from './ReleaseDialog';
import { RollbackDialog } from './RollbackDialog';
import {
  MockApi,
  Providers,
  feature,
  makeRelease,
  masterNew,
  masterOld,
  mockReleaseManagerApi,
  ENV_COMMIT,
} from '../__testUtils__';

const frozenMessage =
  'prod is frozen for payment-gateway: incident INC-42 ("Card payments failing") is open; pass overrideFreeze with a reason to release anyway';

async function responseError(name: string, message: string, status: number) {
  return ResponseError.fromResponse(
    new Response(
      JSON.stringify({
        error: { name, message },
        response: { statusCode: status },
      }),
      { status, headers: { 'Content-Type': 'application/json' } },
    ),
  );
}

const frozen = () => responseError('ProductionFrozenError', frozenMessage, 409);

function renderRelease(
  api: MockApi,
  action: ReleaseAction,
  onReleased = jest.fn(),
) {
  return renderInTestApp(
    <Providers api={api}>
      <ReleaseDialog
        service="payment-gateway"
        action={action}
        onClose={jest.fn()}
        onReleased={onReleased}
      />
    </Providers>,
  );
}

async function confirm(dialog: HTMLElement, prefix: string) {
  await waitFor(() =>
    expect(within(dialog).getByTestId(`${prefix}-confirm`)).toBeEnabled(),
  );
  await userEvent.click(within(dialog).getByTestId(`${prefix}-confirm`));
}

describe('production freeze override', () => {
  it('explains a frozen release, then releases anyway with the reason', async () => {
    const api = mockReleaseManagerApi();
    const released = makeRelease(masterNew, 'prod');
    api.release.mockRejectedValueOnce(await frozen()).mockResolvedValueOnce({
      changed: true,
      message: `released (production freeze overridden: the fix for INC-42)`,
      release: released,
    });
    const onReleased = jest.fn();
    await renderRelease(
      api,
      { kind: 'release', artifact: masterNew, environment: 'prod' },
      onReleased,
    );
    const dialog = await screen.findByTestId('release-dialog');
    expect(
      within(dialog).queryByTestId('freeze-override'),
    ).not.toBeInTheDocument();

    await confirm(dialog, 'release-dialog');
    const error = await within(dialog).findByTestId('release-dialog-error');
    expect(error).toHaveTextContent('Production is frozen');
    expect(error).toHaveTextContent(
      'prod is frozen for payment-gateway: incident INC-42 ("Card payments failing") is open.',
    );
    expect(error).not.toHaveTextContent('overrideFreeze');
    expect(api.release.mock.calls[0][0]).toStrictEqual({
      service: 'payment-gateway',
      pin: { artifactId: masterNew.id, environmentCommit: ENV_COMMIT },
      environment: 'prod',
      artifactId: masterNew.id,
    });

    const override = within(dialog).getByTestId('freeze-override');
    expect(override).toHaveTextContent('Release anyway');
    const button = within(dialog).getByTestId('freeze-override-confirm');
    expect(button).toHaveTextContent('Release anyway');
    expect(button).toBeDisabled();

    await userEvent.type(
      within(dialog).getByTestId('freeze-override-reason'),
      '  the fix for INC-42 ',
    );
    expect(button).toBeEnabled();
    await userEvent.click(button);

    expect(api.release).toHaveBeenCalledTimes(2);
    expect(api.release.mock.calls[1][0]).toStrictEqual({
      service: 'payment-gateway',
      pin: { artifactId: masterNew.id, environmentCommit: ENV_COMMIT },
      environment: 'prod',
      artifactId: masterNew.id,
      overrideFreeze: { reason: 'the fix for INC-42' },
    });
    const result = await within(dialog).findByTestId('release-dialog-result');
    expect(
      within(result).getByTestId('release-dialog-commit'),
    ).toHaveTextContent(released.id.slice(0, 7));
    expect(
      within(dialog).getByTestId('release-dialog-freeze-overridden'),
    ).toHaveTextContent('Production freeze overridden: the fix for INC-42');
    expect(
      within(dialog).queryByTestId('release-dialog-error'),
    ).not.toBeInTheDocument();
    expect(
      within(dialog).queryByTestId('freeze-override'),
    ).not.toBeInTheDocument();
    expect(onReleased).toHaveBeenCalledWith(
      expect.objectContaining({ release: released }),
    );
  });

  it('keeps the override button disabled while the reason is blank', async () => {
    const api = mockReleaseManagerApi();
    api.release.mockRejectedValue(await frozen());
    await renderRelease(api, {
      kind: 'release',
      artifact: masterNew,
      environment: 'prod',
    });
    const dialog = await screen.findByTestId('release-dialog');
    await confirm(dialog, 'release-dialog');

    const reason = await within(dialog).findByTestId('freeze-override-reason');
    const button = within(dialog).getByTestId('freeze-override-confirm');
    expect(reason).toBeRequired();
    expect(button).toBeDisabled();
    await userEvent.type(reason, '   ');
    expect(button).toBeDisabled();
    fireEvent.click(button);
    expect(api.release).toHaveBeenCalledTimes(1);
    await userEvent.type(reason, 'x');
    expect(button).toBeEnabled();
  });

  it('promotes anyway with the reason', async () => {
    const api = mockReleaseManagerApi();
    api.promote.mockRejectedValueOnce(await frozen()).mockResolvedValueOnce({
      changed: true,
      message: 'ok',
      release: makeRelease(masterNew, 'prod', { intent: 'promote' }),
    });
    await renderRelease(api, {
      kind: 'promote',
      artifact: masterNew,
      fromEnvironment: 'staging',
      environment: 'prod',
    });
    const dialog = await screen.findByTestId('release-dialog');
    await confirm(dialog, 'release-dialog');
    const button = await within(dialog).findByTestId('freeze-override-confirm');
    expect(button).toHaveTextContent('Promote anyway');
    await userEvent.type(
      within(dialog).getByTestId('freeze-override-reason'),
      'hotfix',
    );
    await userEvent.click(button);
    expect(api.promote).toHaveBeenLastCalledWith({
      service: 'payment-gateway',
      pin: { artifactId: masterNew.id, environmentCommit: ENV_COMMIT },
      fromEnvironment: 'staging',
      toEnvironment: 'prod',
      overrideFreeze: { reason: 'hotfix' },
    });
    expect(
      await within(dialog).findByTestId('release-dialog-result'),
    ).toHaveTextContent('Done');
  });

  it('rolls back anyway with the reason', async () => {
    const api = mockReleaseManagerApi();
    api.getReleases.mockResolvedValue({
      items: [makeRelease(masterNew, 'prod'), makeRelease(masterOld, 'prod')],
    });
    api.rollback.mockRejectedValueOnce(await frozen()).mockResolvedValueOnce({
      changed: true,
      message: 'ok',
      release: makeRelease(masterOld, 'prod', { intent: 'rollback' }),
    });
    await renderInTestApp(
      <Providers api={api}>
        <RollbackDialog
          service="payment-gateway"
          environment="prod"
          currentArtifactId={masterNew.id}
          onClose={jest.fn()}
          onRolledBack={jest.fn()}
        />
      </Providers>,
    );
    const dialog = await screen.findByTestId('rollback-dialog');
    await userEvent.click(
      await within(dialog).findByLabelText(new RegExp(masterOld.id)),
    );
    await confirm(dialog, 'rollback-dialog');

    expect(
      await within(dialog).findByTestId('rollback-dialog-error'),
    ).toHaveTextContent('incident INC-42');
    const button = within(dialog).getByTestId('freeze-override-confirm');
    expect(button).toHaveTextContent('Roll back anyway');
    expect(button).toBeDisabled();
    await userEvent.type(
      within(dialog).getByTestId('freeze-override-reason'),
      'bad deploy caused INC-42',
    );
    await userEvent.click(button);
    expect(api.rollback).toHaveBeenLastCalledWith({
      service: 'payment-gateway',
      pin: { artifactId: masterOld.id, environmentCommit: ENV_COMMIT },
      environment: 'prod',
      artifactId: masterOld.id,
      overrideFreeze: { reason: 'bad deploy caused INC-42' },
    });
    expect(
      await within(dialog).findByTestId('rollback-dialog-result'),
    ).toHaveTextContent('Rolled back');
  });

  it('rolls back anyway to the artifact chosen after the refusal', async () => {
    const api = mockReleaseManagerApi();
    api.getReleases.mockResolvedValue({
      items: [
        makeRelease(masterNew, 'prod'),
        makeRelease(masterOld, 'prod'),
        makeRelease(feature, 'prod'),
      ],
    });
    api.rollback.mockRejectedValueOnce(await frozen()).mockResolvedValueOnce({
      changed: true,
      message: 'ok',
      release: makeRelease(feature, 'prod', { intent: 'rollback' }),
    });
    await renderInTestApp(
      <Providers api={api}>
        <RollbackDialog
          service="payment-gateway"
          environment="prod"
          currentArtifactId={masterNew.id}
          onClose={jest.fn()}
          onRolledBack={jest.fn()}
        />
      </Providers>,
    );
    const dialog = await screen.findByTestId('rollback-dialog');
    await userEvent.click(
      await within(dialog).findByLabelText(new RegExp(masterOld.id)),
    );
    await confirm(dialog, 'rollback-dialog');
    await within(dialog).findByTestId('freeze-override');

    await userEvent.click(
      within(dialog).getByLabelText(new RegExp(feature.id)),
    );
    await userEvent.type(
      within(dialog).getByTestId('freeze-override-reason'),
      'INC-42 started with the last release',
    );
    await userEvent.click(
      within(dialog).getByTestId('freeze-override-confirm'),
    );
    expect(api.rollback).toHaveBeenLastCalledWith({
      service: 'payment-gateway',
      pin: { artifactId: feature.id, environmentCommit: ENV_COMMIT },
      environment: 'prod',
      artifactId: feature.id,
      overrideFreeze: { reason: 'INC-42 started with the last release' },
    });
  });

  it('offers no override for other refusals', async () => {
    const api = mockReleaseManagerApi();
    api.release.mockRejectedValue(
      await responseError(
        'ConflictError',
        'prod is being released by someone else',
        409,
      ),
    );
    await renderRelease(api, {
      kind: 'release',
      artifact: masterNew,
      environment: 'prod',
    });
    const dialog = await screen.findByTestId('release-dialog');
    await confirm(dialog, 'release-dialog');
    expect(
      await within(dialog).findByTestId('release-dialog-error'),
    ).toHaveTextContent('prod is being released by someone else');
    expect(
      within(dialog).queryByTestId('freeze-override'),
    ).not.toBeInTheDocument();
  });

  it('shows a refused override as an error and keeps the reason for another try', async () => {
    const api = mockReleaseManagerApi();
    api.release
      .mockRejectedValueOnce(await frozen())
      .mockRejectedValueOnce(await frozen())
      .mockRejectedValueOnce(
        await responseError(
          'NotAllowedError',
          'you may not override the freeze',
          403,
        ),
      );
    await renderRelease(api, {
      kind: 'release',
      artifact: masterNew,
      environment: 'prod',
    });
    const dialog = await screen.findByTestId('release-dialog');
    await confirm(dialog, 'release-dialog');
    await userEvent.type(
      await within(dialog).findByTestId('freeze-override-reason'),
      'fix',
    );
    await userEvent.click(
      within(dialog).getByTestId('freeze-override-confirm'),
    );

    // Refused by the freeze again: the form is back with the reason still in it.
    await waitFor(() => expect(api.release).toHaveBeenCalledTimes(2));
    expect(
      await within(dialog).findByTestId('freeze-override-reason'),
    ).toHaveValue('fix');
    await userEvent.click(
      within(dialog).getByTestId('freeze-override-confirm'),
    );

    expect(
      await within(dialog).findByText(
        /Not allowed: you may not override the freeze/,
      ),
    ).toBeInTheDocument();
    expect(api.release).toHaveBeenLastCalledWith(
      expect.objectContaining({ overrideFreeze: { reason: 'fix' } }),
    );
    expect(
      within(dialog).queryByTestId('freeze-override'),
    ).not.toBeInTheDocument();
  });

  it('says "changed since you looked" when the pinned environment moved, and offers no override', async () => {
    const api = mockReleaseManagerApi();
    api.promote.mockRejectedValueOnce(
      await responseError(
        'ChangedSinceYouLookedError',
        'payment-gateway changed since you looked: staging now runs master-bbbbbbbbbb, not master-aaaaaaaaaa that you looked at. Nothing was written; look again and retry.',
        409,
      ),
    );
    await renderRelease(api, { kind: 'promote', artifact: masterNew, fromEnvironment: 'staging', environment: 'prod' });
    const dialog = await screen.findByTestId('release-dialog');
    await confirm(dialog, 'release-dialog');
    // the request carried exactly what the dialog showed
    expect(api.promote.mock.calls[0][0].pin).toEqual({ artifactId: masterNew.id, environmentCommit: ENV_COMMIT });
    const error = await within(dialog).findByTestId('release-dialog-error');
    expect(error).toHaveTextContent('changed since you looked');
    expect(error).toHaveTextContent('Nothing was written');
    expect(within(dialog).queryByTestId('freeze-override')).not.toBeInTheDocument();
  });
});
