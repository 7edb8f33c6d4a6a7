import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp } from '@backstage/test-utils';
import { PoliciesPanel } from './PoliciesPanel';
import {
  Providers,
  environments,
  mockReleaseManagerApi,
  permissionApiDenying,
  policies,
} from '../__testUtils__';

function render(
  api = mockReleaseManagerApi(),
  options: { entityRef?: string; permissionApi?: any; policies?: typeof policies } = {},
) {
  const onChanged = jest.fn();
  return renderInTestApp(
    <Providers api={api} permissionApi={options.permissionApi}>
      <PoliciesPanel
        service="payment-gateway"
        entityRef={options.entityRef ?? 'component:default/payment-gateway'}
        policies={options.policies ?? policies}
        environments={environments}
        onChanged={onChanged}
      />
    </Providers>,
  ).then(() => ({ api, onChanged }));
}

async function pick(testId: string, option: string) {
  fireEvent.mouseDown(screen.getByTestId(testId));
  await userEvent.click(within(await screen.findByRole('listbox')).getByText(option));
}

describe('PoliciesPanel', () => {
  it('previews each policy in plain language', async () => {
    await render();
    expect(screen.getByTestId('policy-auto-master-dev')).toHaveTextContent(
      'a merge to master will go to dev automatically',
    );
    expect(screen.getByTestId('policy-restrict-prod')).toHaveTextContent(
      'prod accepts only branches matching ^(master|main)$',
    );
  });

  it('lets owners add an auto-release policy with a live preview', async () => {
    const { api, onChanged } = await render();
    const value = await screen.findByTestId('policy-value');
    await userEvent.type(value, 'master');
    await pick('policy-environment', 'prod');
    expect(screen.getByTestId('policy-preview')).toHaveTextContent(
      'Preview: a merge to master will go to prod automatically',
    );
    await userEvent.click(screen.getByTestId('policy-add'));
    expect(api.setAutoReleasePolicy).toHaveBeenCalledWith('payment-gateway', {
      branch: 'master',
      environment: 'prod',
    });
    await waitFor(() => expect(onChanged).toHaveBeenCalled());
  });

  it('adds branch restrictions and rejects invalid regexes', async () => {
    const { api } = await render();
    await pick('policy-kind', 'Branch restriction');
    const value = await screen.findByTestId('policy-value');
    fireEvent.change(value, { target: { value: '^(main' } });
    await pick('policy-environment', 'staging');
    expect(screen.getByText('not a valid regular expression')).toBeInTheDocument();
    expect(screen.getByTestId('policy-add')).toBeDisabled();

    fireEvent.change(value, { target: { value: '^(master|main)$' } });
    expect(screen.getByTestId('policy-preview')).toHaveTextContent(
      'staging accepts only branches matching ^(master|main)$',
    );
    await userEvent.click(screen.getByTestId('policy-add'));
    expect(api.setBranchRestrictionPolicy).toHaveBeenCalledWith('payment-gateway', {
      branchRegex: '^(master|main)$',
      environment: 'staging',
    });
  });

  it('deletes a policy', async () => {
    const { api } = await render();
    await userEvent.click(
      await screen.findByRole('button', {
        name: 'Delete policy: a merge to master will go to dev automatically',
      }),
    );
    expect(api.deletePolicy).toHaveBeenCalledWith('payment-gateway', 'auto-master-dev');
  });

  it('is read-only for people who are not owners', async () => {
    await render(undefined, {
      entityRef: 'component:default/not-mine',
      permissionApi: permissionApiDenying('release-manager.policy.write'),
    });
    expect(await screen.findByTestId('policies-read-only')).toHaveTextContent(
      'Only the owners of payment-gateway can change its policies.',
    );
    expect(screen.queryByTestId('policy-add')).not.toBeInTheDocument();
    expect(screen.queryByTestId('policy-delete-auto-master-dev')).not.toBeInTheDocument();
  });

  it('shows the organisation guardrails as locked, with where they come from', async () => {
    await render(mockReleaseManagerApi(), {
      policies: {
        ...policies,
        guardrails: [
          {
            environment: 'prod',
            allowedBranches: '^(master|main)$',
            allowedBranchesSource: 'default for production environments',
            verifyBranch: true,
            allowedNamespaces: [],
            allowClusterScoped: false,
            uploaders: ['ci'],
            source: 'releaseManager.environments[2].guardrails',
          },
        ],
      },
    });
    const box = screen.getByTestId('guardrails');
    expect(box).toHaveTextContent('Organisation guardrails (locked');
    const lines = within(box).getAllByTestId('guardrail-prod');
    expect(lines[0]).toHaveTextContent(
      'prod: only branches matching ^(master|main)$, verified in the source repository (default for production environments)',
    );
    expect(lines[1]).toHaveTextContent('no cluster-scoped kinds');
    expect(lines[2]).toHaveTextContent('ci (releaseManager.environments[2].guardrails.uploaders)');
    expect(within(box).getAllByTitle('locked').length).toBe(3);
    // guardrails have no delete button: only service policies do
    expect(within(box).queryByRole('button')).not.toBeInTheDocument();
  });
});
