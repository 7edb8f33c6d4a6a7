// Its own file: usePermission caches answers (SWR) per permission for the whole test file, and
// Approvals.test.tsx asks the same permission as a developer (denied).
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp } from '@backstage/test-utils';
import { ReleaseDialog } from './ReleaseDialog';
import {
  Providers,
  environments,
  makeRelease,
  masterNew,
  mockReleaseManagerApi,
  permissionApiDenying,
} from '../__testUtils__';

describe('break-glass in the release dialog (platform)', () => {
  const fourEyes = environments.map(e =>
    e.name === 'prod' ? { ...e, requireApproval: true } : e,
  );

  it('lets platform break glass only with a reason, and flags the result', async () => {
    const api = mockReleaseManagerApi();
    api.getEnvironments.mockResolvedValue(fourEyes);
    api.promote.mockResolvedValue({
      changed: true,
      message: 'released',
      release: makeRelease(masterNew, 'prod', { breakGlass: 'payments down' }),
    });
    await renderInTestApp(
      <Providers api={api} permissionApi={permissionApiDenying()}>
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
    const dialog = await screen.findByTestId('release-dialog');
    await within(dialog).findByTestId('break-glass');
    await userEvent.click(within(dialog).getByTestId('break-glass-toggle'));
    const confirm = within(dialog).getByTestId('release-dialog-confirm');
    expect(confirm).toBeDisabled(); // no reason yet
    await userEvent.type(within(dialog).getByTestId('break-glass-reason'), 'payments down');
    await waitFor(() => expect(confirm).toBeEnabled());
    await userEvent.click(confirm);
    expect(api.promote.mock.calls[0][0]).toMatchObject({
      breakGlass: { reason: 'payments down' },
    });
    expect(
      await within(dialog).findByTestId('release-dialog-break-glass'),
    ).toHaveTextContent('BREAK-GLASS: released without approval — payments down');
  });
});
