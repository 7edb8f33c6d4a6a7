import { createExtensionTester } from '@backstage/frontend-test-utils';
import { FormFieldBlueprint } from '@backstage/plugin-scaffolder-react/alpha';
import { goldenPathScaffolderModule, serviceNameFormField } from './module';

describe('goldenPathScaffolderModule', () => {
  it('is a scaffolder module that attaches the field to the form fields api', () => {
    expect(goldenPathScaffolderModule.pluginId).toBe('scaffolder');
    const { spec } =
      createExtensionTester(serviceNameFormField).query(
        serviceNameFormField,
      ).node;
    expect(spec.id).toBe('scaffolder-form-field:service-name');
    expect(spec.attachTo).toEqual({
      id: 'api:scaffolder/form-fields',
      input: 'formFields',
    });
  });

  it('loads the ServiceNameField form field', async () => {
    const loader = createExtensionTester(serviceNameFormField).get(
      FormFieldBlueprint.dataRefs.formFieldLoader,
    );
    const field = await loader();
    expect(field.$$type).toBe('@backstage/scaffolder/FormField');
  });
});
