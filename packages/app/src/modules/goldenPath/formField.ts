import { makeFieldSchema } from '@backstage/plugin-scaffolder-react';
import { createFormField } from '@backstage/plugin-scaffolder-react/alpha';
import { ServiceNameField } from './ServiceNameField';
import { validateServiceName } from './validation';

/** The JSON schema of the field's value: a string (the template adds pattern and length). */
export const ServiceNameFieldSchema = makeFieldSchema({
  output: z => z.string(),
});

export const serviceNameField = createFormField({
  name: 'ServiceNameField',
  component: ServiceNameField,
  validation: validateServiceName,
  schema: ServiceNameFieldSchema,
});
