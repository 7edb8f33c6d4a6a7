import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import {
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { discoveryApiRef, fetchApiRef } from '@backstage/frontend-plugin-api';
import { catalogApiRef } from '@backstage/plugin-catalog-react';
import { Stepper } from '@backstage/plugin-scaffolder-react/alpha';
import { ServiceNameField } from './ServiceNameField';
import { validateServiceName } from './validation';
import { fakeLookupApis } from './__testUtils__/fakeApis';
// The real template (the jest config turns YAML into JSON).
// eslint-disable-next-line @backstage/no-relative-monorepo-imports
import templateYaml from '../../../../../templates/golden-path/template.yaml';

// typed as a string by the asset types; the jest transform yields the parsed document
const template = templateYaml as unknown as {
  spec: { parameters: Array<{ properties: Record<string, any> }> };
};

/** The template's `name` field alone, in the scaffolder's own form. */
function renderNameStep() {
  const apis = fakeLookupApis();
  const onCreate = jest.fn(async () => {});
  const nameSchema = template.spec.parameters[0].properties.name;
  renderInTestApp(
    <TestApiProvider
      apis={[
        [catalogApiRef, apis.catalogApi],
        [discoveryApiRef, apis.discoveryApi],
        [fetchApiRef, apis.fetchApi],
      ]}
    >
      <Stepper
        manifest={{
          title: 'New service',
          steps: [
            {
              title: 'Your new service',
              schema: {
                type: 'object',
                required: ['name'],
                properties: { name: nameSchema },
              },
            },
          ],
        }}
        extensions={[
          {
            name: 'ServiceNameField',
            component: ServiceNameField,
            validation: validateServiceName,
          },
        ]}
        onCreate={onCreate}
      />
    </TestApiProvider>,
  );
  return { onCreate };
}

async function typeNameAndReview(name: string) {
  await userEvent.type(await screen.findByLabelText(/Name/), name);
  await userEvent.click(screen.getByRole('button', { name: 'Review' }));
}

describe('the golden path name field in the scaffolder form', () => {
  it('keeps a path-like name out of Review with a plain-words error', async () => {
    renderNameStep();
    await typeNameAndReview('../Evil');
    // the template's errorMessage, not the raw pattern
    expect(
      await screen.findByText(
        "'Name' use lowercase letters, digits and '-' (no '/', '..' or spaces), starting and ending with a letter or digit",
      ),
    ).toBeInTheDocument();
    expect(screen.queryByText(/must match pattern/)).toBeNull();
    expect(screen.queryByRole('button', { name: 'Create' })).toBeNull();
  });

  it('keeps a name that is already in the catalog out of Review', async () => {
    renderNameStep();
    await typeNameAndReview('ledger');
    // the error list at the top of the form holds only the validation's errors
    expect(
      await screen.findByText(
        "'Name' 'ledger' is taken: component:default/ledger is already in the catalog",
      ),
    ).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Create' })).toBeNull();
  });

  it('keeps a name used by a repository on the git host out of Review', async () => {
    renderNameStep();
    await typeNameAndReview('legacy-batch');
    expect(
      await screen.findByText(
        "'Name' 'legacy-batch' is taken: a repository with that name already exists on the git host",
      ),
    ).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Create' })).toBeNull();
  });

  it('lets a free, valid name through to Review and Create', async () => {
    const { onCreate } = renderNameStep();
    await typeNameAndReview('payment-api');
    await userEvent.click(
      await screen.findByRole('button', { name: 'Create' }),
    );
    expect(onCreate).toHaveBeenCalledWith({ name: 'payment-api' });
  });
});
