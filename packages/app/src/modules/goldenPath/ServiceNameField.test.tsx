import { useState } from 'react';
import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { discoveryApiRef, fetchApiRef } from '@backstage/frontend-plugin-api';
import { catalogApiRef } from '@backstage/plugin-catalog-react';
import type { FieldExtensionComponentProps } from '@backstage/plugin-scaffolder-react';
import { ServiceNameField } from './ServiceNameField';
import { fakeLookupApis } from './__testUtils__/fakeApis';

async function renderField(options?: {
  rawErrors?: string[];
  initial?: string;
}) {
  const apis = fakeLookupApis();
  const onChange = jest.fn();
  const Harness = () => {
    const [value, setValue] = useState<string | undefined>(options?.initial);
    const props = {
      onChange: (v: string | undefined) => {
        onChange(v);
        setValue(v);
      },
      required: true,
      schema: {
        title: 'Name',
        description: 'Repository, catalog and Kubernetes name',
      },
      rawErrors: options?.rawErrors ?? [],
      formData: value,
      uiSchema: {},
      idSchema: { $id: 'root_name' },
    } as unknown as FieldExtensionComponentProps<string>;
    return <ServiceNameField {...props} />;
  };
  renderInTestApp(
    <TestApiProvider
      apis={[
        [catalogApiRef, apis.catalogApi],
        [discoveryApiRef, apis.discoveryApi],
        [fetchApiRef, apis.fetchApi],
      ]}
    >
      <Harness />
    </TestApiProvider>,
  );
  return { apis, onChange };
}

describe('ServiceNameField', () => {
  it('shows the description until something is typed', async () => {
    await renderField();
    expect(
      screen.getByText('Repository, catalog and Kubernetes name'),
    ).toBeInTheDocument();
  });

  it('explains a path-like name as it is typed, without any lookup', async () => {
    const { apis, onChange } = await renderField();
    await userEvent.type(screen.getByLabelText(/Name/), '../x');
    expect(
      await screen.findByText(
        "The name must not contain '/', '\\' or '..' (it is not a path)",
      ),
    ).toBeInTheDocument();
    expect(screen.getByLabelText(/Name/)).toHaveAttribute(
      'aria-invalid',
      'true',
    );
    expect(onChange).toHaveBeenLastCalledWith('../x');
    expect(apis.fetchApi.fetch).not.toHaveBeenCalled();
  });

  it('explains uppercase letters', async () => {
    await renderField();
    await userEvent.type(screen.getByLabelText(/Name/), 'Ledger');
    expect(
      await screen.findByText(
        "Use lowercase letters, digits and '-' (e.g. 'ledger')",
      ),
    ).toBeInTheDocument();
  });

  it('says when the name is already in the catalog and on the git host', async () => {
    await renderField();
    await userEvent.type(screen.getByLabelText(/Name/), 'ledger');
    expect(
      await screen.findByText(
        "'ledger' is taken: component:default/ledger is already in the catalog · 'ledger' is taken: a repository with that name already exists on the git host",
      ),
    ).toBeInTheDocument();
    expect(screen.getByLabelText(/Name/)).toHaveAttribute(
      'aria-invalid',
      'true',
    );
  });

  it('says when only a repository has the name', async () => {
    await renderField();
    await userEvent.type(screen.getByLabelText(/Name/), 'legacy-batch');
    expect(
      await screen.findByText(
        "'legacy-batch' is taken: a repository with that name already exists on the git host",
      ),
    ).toBeInTheDocument();
  });

  it('says when a name is free', async () => {
    await renderField();
    await userEvent.type(screen.getByLabelText(/Name/), 'payment-api');
    expect(
      await screen.findByText("'payment-api' is free"),
    ).toBeInTheDocument();
    expect(screen.getByLabelText(/Name/)).toHaveAttribute(
      'aria-invalid',
      'false',
    );
  });

  it('asks for a name when the field is left empty', async () => {
    await renderField();
    await userEvent.click(screen.getByLabelText(/Name/));
    await userEvent.tab();
    expect(
      await screen.findByText('Enter a name for the service'),
    ).toBeInTheDocument();
  });

  it('is marked invalid when the form reports errors (after Review was pressed)', async () => {
    await renderField({
      initial: 'ledger',
      rawErrors: [
        "'ledger' is taken: component:default/ledger is already in the catalog",
      ],
    });
    expect(screen.getByLabelText(/Name/)).toHaveAttribute(
      'aria-invalid',
      'true',
    );
    // the form shows rawErrors itself; the field adds only what the form does not show
    expect(
      await screen.findByText(
        "'ledger' is taken: a repository with that name already exists on the git host",
      ),
    ).toBeInTheDocument();
  });
});
