import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { FormFieldBlueprint } from '@backstage/plugin-scaffolder-react/alpha';

/** `ui:field: ServiceNameField`, loaded with the scaffolder form. */
export const serviceNameFormField = FormFieldBlueprint.make({
  name: 'service-name',
  params: {
    field: () => import('./formField').then(m => m.serviceNameField),
  },
});

/** The golden path's scaffolder form fields. */
export const goldenPathScaffolderModule = createFrontendModule({
  pluginId: 'scaffolder',
  extensions: [serviceNameFormField],
});
